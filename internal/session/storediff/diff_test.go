package storediff

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/filestore"
	"github.com/sessiond/sessiond/internal/session/ginsession"
	"github.com/sessiond/sessiond/internal/session/redisstore"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

// world is one store behind a Manager and the engine's test app, with a
// clock of its own for the Manager (the stores keep their own, this
// machine's).
type world struct {
	t       *testing.T
	name    string
	app     *sessiontest.App
	offset  *atomic.Int64 // the Manager's clock is this far ahead, in ns
	cookies map[string]string
}

func newWorld(t *testing.T, name string, b session.Backend, prefix string) *world {
	w := &world{t: t, name: name, offset: new(atomic.Int64), cookies: map[string]string{}}
	m := sessiontest.MustManager(t, b, prefix, func(c *session.Config) {
		c.MaxPerUser = 3
		c.Timeout = 10 * time.Second // a loaded machine queues the filestore's synced writes
		c.Now = func() time.Time { return time.Now().Add(time.Duration(w.offset.Load())) }
	})
	w.app = sessiontest.NewApp(t, m)
	// A counter with a small maximum, and one going down: the limit and
	// the removal at zero are reached within a sequence.
	w.app.Router.POST("/pears/:by", func(c *gin.Context) {
		by, _ := strconv.ParseInt(c.Param("by"), 10, 64)
		ginsession.From(c).Incr("pears", by, 3)
		c.String(200, "ok")
	})
	return w
}

var (
	users   = []string{"ann", "bob"}
	devices = []string{"d0", "d1", "d2", "d3", "d4"}
	fields  = []string{"theme", "color"}
	offsets = []time.Duration{0, 30 * time.Minute, 2 * time.Hour} // none; a touch due; past the idle timeout
)

// op is one step of a sequence: what it does to a world, and what a user
// sees of it.
type op struct {
	name string
	do   func(w *world) string
}

// do sends a request with device's cookie, keeps the cookie it sets, and
// returns the status, the body and what happened to the cookie.
func (w *world) do(method, path, device string) string {
	rec, set := w.app.Do(method, path, w.cookies[device])
	cookie := "kept"
	switch set {
	case "":
	case "-":
		cookie = "expired"
		delete(w.cookies, device)
	default:
		cookie = "new"
		w.cookies[device] = set
	}
	return fmt.Sprintf("%d %q cookie %s", rec.Code, strings.TrimSpace(rec.Body.String()), cookie)
}

// ids maps the public id of each device's session to the device.
func (w *world) ids() map[string]string {
	out := map[string]string{}
	for d, c := range w.cookies {
		if tok, _, err := w.app.M.Signer().Decode(c); err == nil {
			out[session.PublicID(tok.Selector)] = d
		}
	}
	return out
}

// listing is user's sessions as devices (? for a session no device holds).
func (w *world) listing(user string) string {
	list, err := w.app.M.List(context.Background(), user, nil)
	if err != nil {
		return "error " + err.Error()
	}
	ids := w.ids()
	var got []string
	for _, in := range list {
		d, ok := ids[in.ID]
		if !ok {
			d = "?"
		}
		got = append(got, d)
	}
	slices.Sort(got)
	return fmt.Sprint(got)
}

// randomOp picks one operation.
func randomOp(r *rand.Rand) op {
	u, d, f := users[r.IntN(len(users))], devices[r.IntN(len(devices))], fields[r.IntN(len(fields))]
	switch n := r.IntN(100); {
	case n < 18:
		return op{"login " + u + " on " + d, func(w *world) string { return w.do("POST", "/login/"+u, d) }}
	case n < 32:
		v := []string{"dark", "light", "blue"}[r.IntN(3)]
		return op{"set " + f + "=" + v + " on " + d, func(w *world) string { return w.do("POST", "/set/"+f+"/"+v, d) }}
	case n < 40:
		return op{"incr apples on " + d, func(w *world) string { return w.do("POST", "/incr/apples", d) }}
	case n < 46:
		by := []string{"1", "2", "-1"}[r.IntN(3)]
		return op{"pears " + by + " (at most 3), four times, on " + d, func(w *world) string {
			var out []string
			for range 4 {
				out = append(out, w.do("POST", "/pears/"+by, d)+" "+w.do("GET", "/get/pears", d))
			}
			return strings.Join(out, "; ")
		}}
	case n < 58:
		return op{"get " + f + " and user on " + d, func(w *world) string {
			return w.do("GET", "/get/"+f, d) + "; " + w.do("GET", "/user", d)
		}}
	case n < 64:
		return op{"logout on " + d, func(w *world) string { return w.do("POST", "/logout", d) }}
	case n < 72:
		return op{"list " + u, func(w *world) string { return w.listing(u) }}
	case n < 78:
		return op{"revoke " + d + "'s session of " + u, func(w *world) string {
			id := ""
			for pid, dev := range w.ids() {
				if dev == d {
					id = pid
				}
			}
			ok, err := w.app.M.Revoke(context.Background(), u, id)
			return fmt.Sprint(ok, err)
		}}
	case n < 82:
		return op{"revoke the others of " + u + " but " + d, func(w *world) string {
			n, err := w.app.M.RevokeOthers(context.Background(), u, sessiontest.Load(w.t, w.app.M, w.cookies[d]))
			return fmt.Sprint(n, err)
		}}
	case n < 86:
		return op{"revoke all of " + u, func(w *world) string {
			n, err := w.app.M.RevokeAll(context.Background(), u)
			return fmt.Sprint(n, err)
		}}
	case n < 92:
		return op{"copy " + d + "'s cookie to a second tab, then re-login there", func(w *world) string {
			// A browser whose two tabs share the cookie: one logs in again
			// (a rename), the other's next change meets the forward.
			other := d + "-tab"
			w.cookies[other] = w.cookies[d]
			res := w.do("POST", "/login/"+u, d)
			res += "; " + w.do("POST", "/incr/apples", other)
			delete(w.cookies, other)
			return res
		}}
	default:
		off := offsets[r.IntN(len(offsets))]
		return op{fmt.Sprintf("the replica's clock %v ahead", off), func(w *world) string {
			w.offset.Store(int64(off))
			return ""
		}}
	}
}

// The filesystem store and the Redis store, driven by the same random
// sequences, show a user the same things at every step: statuses, bodies,
// cookies set or expired, listings, how many sessions a revoke ended.
func TestStoresAgree(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	const sequences, steps = 24, 60
	for seq := range sequences {
		t.Run(fmt.Sprintf("seed%d", seq), func(t *testing.T) {
			t.Parallel()
			files, err := filestore.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { files.Close() })
			layout := session.Layouts()[seq%len(session.Layouts())]
			a := newWorld(t, "files", files.ForLayout(layout), "")
			b := newWorld(t, "redis", redisstore.New(srv.Client(t)).ForLayout(layout), redistest.Prefix(t))
			r := rand.New(rand.NewPCG(uint64(seq), 18))
			var done []string
			for step := range steps {
				o := randomOp(r)
				got, want := b.do0(o), a.do0(o)
				done = append(done, o.name)

				if got != want {
					t.Fatalf("%v, step %d, %q:\n  files: %s\n  redis: %s\nsteps before:\n  %s",
						layout, step, o.name, want, got, strings.Join(done[max(0, len(done)-12):len(done)-1], "\n  "))
				}
			}
		})
	}
}

func (w *world) do0(o op) string { return o.do(w) }
