package redisstore

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

// The contract suite against a real redis-server, shared by its tests,
// each with a key prefix of its own.
func TestContract(t *testing.T) {
	srv := redistest.Start(t)
	sessiontest.Run(t, func(t testing.TB) (session.Backend, string) {
		return New(srv.Client(t)), redistest.Prefix(t)
	})
}

func TestRedisCommandsPerRequest(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	client := srv.Client(t)
	a := sessiontest.NewApp(t, sessiontest.MustManager(t, New(client), "", nil))
	c := a.Login("ann")
	a.Do("POST", "/set/theme/dark", c) // warm the script cache
	count := func(n int, method, path, cookie string) map[string]int64 {
		before := redistest.CommandStats(t, client)
		for range n {
			a.Do(method, path, cookie)
		}
		return redistest.Diff(before, redistest.CommandStats(t, client), "info")
	}
	for name, tc := range map[string]struct {
		method, path, cookie string
		want                 map[string]int64
	}{
		"anonymous page":  {"GET", "/nothing", "", map[string]int64{}},
		"anonymous read":  {"GET", "/get/theme", "", map[string]int64{}},
		"bad cookie":      {"GET", "/user", "garbage", map[string]int64{}},
		"read-only":       {"GET", "/get/theme", c, map[string]int64{"hgetall": 10}},
		"unchanged write": {"POST", "/set/theme/dark", c, map[string]int64{"hgetall": 10}},
		"changed field":   {"POST", "/incr/apples", c, map[string]int64{"hgetall": 10, "evalsha": 10}},
		// one script: the session and its index entry together
		"login from blank": {"POST", "/login/bob", "", map[string]int64{"evalsha": 10}},
	} {
		got := count(10, tc.method, tc.path, tc.cookie)
		t.Logf("%s x10: %v", name, got)
		// Commands run inside a script are counted too; compare the round
		// trips (what the client sent) and require no write outside them.
		for k := range got {
			if k != "hgetall" && k != "evalsha" && tc.want["evalsha"] > 0 {
				delete(got, k)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s x10: commands %v, want %v", name, got, tc.want)
		}
	}
}

func TestStoreOutageIsAnErrorNotALogout(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	m := sessiontest.MustManager(t, New(srv.Client(t)), "", func(c *session.Config) { c.Timeout = 300 * time.Millisecond })
	a := sessiontest.NewApp(t, m)
	c := a.Login("ann")
	srv.Stop()
	for _, p := range []string{"/user", "/get/theme"} {
		rec, set := a.Do("GET", p, c)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s during outage: %d %q", p, rec.Code, rec.Body.String())
		}
		if set == "-" {
			t.Errorf("%s during outage expired the cookie", p)
		}
	}
	if _, err := m.Load(httptest.NewRequest("GET", "/", nil)); err != nil {
		t.Errorf("a request without a cookie needs no store: %v", err)
	}
	srv.Start()
	sessiontest.WaitUntil(t, 5*time.Second, func() bool { return a.Body("GET", "/user", c) == "ann" })
}

func TestSessionKeyLayout(t *testing.T) {
	m := sessiontest.MustManager(t, New(nil), "app:", nil)
	sel := "AbCdEfGhIjKlMnOp"
	key := m.SessionKey(sel)
	want := fmt.Sprintf("app:s:{%s}%s", sel[:4], sel[4:])
	if key != want {
		t.Errorf("key %q, want %q", key, want)
	}
	if m.IndexKey("ann") != "app:u:ann" {
		t.Errorf("index key %q", m.IndexKey("ann"))
	}
}

// The per-user index stays bounded without listings (see the contract
// suite's IndexStaysBounded), here as Redis holds it: the zset keeps only
// the live entries and its key lives as long as its latest deadline.
func TestIndexStaysBoundedInRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	r := New(srv.Client(t))
	ctx := context.Background()
	idx := redistest.Prefix(t) + "u:bounded"
	long := time.Now().Add(time.Hour)
	if err := r.IndexAdd(ctx, idx, "keep0000000000AA", long); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := r.IndexAdd(ctx, idx, fmt.Sprintf("short%011d", i), time.Now().Add(100*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if err := r.IndexAdd(ctx, idx, "keep0000000000BB", long.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := r.c.ZCard(ctx, idx).Val(); n != 2 {
		t.Errorf("index holds %d entries, want the 2 live ones", n)
	}
	ttl := r.c.PTTL(ctx, idx).Val()
	if ttl < time.Hour || ttl > time.Hour+2*time.Minute {
		t.Errorf("index TTL %v, want its latest deadline (about 1h1m)", ttl)
	}
	entries, err := r.IndexList(ctx, idx)
	if err != nil || len(entries) != 2 {
		t.Fatalf("live entries %v %v", entries, err)
	}
}
