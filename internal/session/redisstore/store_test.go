package redisstore

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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

// Redis commands per request, counted by the server itself, scripts'
// insides included: what each request costs Redis, exactly. An extra
// command (a PEXPIREAT after every write, a prune on every login) fails it.
func TestRedisCommandsPerRequest(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	client := srv.Client(t)
	a := sessiontest.NewApp(t, sessiontest.MustManager(t, New(client), "", nil))
	c := a.Login("ann")
	a.Do("POST", "/set/theme/dark", c)     // warm the script cache
	a.Do("POST", "/incr/warm", c)          // ...
	a.Do("POST", "/logout", a.Login("ed")) // ...
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
		// one script: is it a session, the counter's value, the write;
		// last-seen and the expiry wait for the touch interval
		"changed field": {"POST", "/incr/apples", c, map[string]int64{
			"hgetall": 10, "fcall": 10, "hexists": 10, "hget": 10, "hset": 10}},
		// one script: the session and its index entry together
		"login from blank": {"POST", "/login/bob", "", map[string]int64{
			"fcall": 10, "exists": 10, "time": 10, "hset": 20, "pexpireat": 10, "hget": 10,
			"hrandfield": 1}}, // the user's first entry sweeps, see TestIndexStaysBoundedInRedis
	} {
		got := count(10, tc.method, tc.path, tc.cookie)
		t.Logf("%s x10: %v", name, got)
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
	ix := m.Index("ann")
	if !regexp.MustCompile(`^app:u:\{[0-9a-f]{2}\}$`).MatchString(ix.Key) || len(ix.Field) != 8 {
		t.Errorf("index %q field %q, want app:u:{hh} and 8 bytes", ix.Key, ix.Field)
	}
	if m.Index("ann") != ix || m.Index("bob") == ix {
		t.Error("index names are not a function of the user")
	}
}

// The per-user index as Redis holds it (see the contract suite's
// IndexStaysBounded): a user is a 16-bytes-per-session field of a shared
// index hash, and the fields of users who never came back are deleted by
// the first logins of other users sharing the hash (each samples two
// fields), so dead fields stay a bounded share of the hash.
func TestIndexStaysBoundedInRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	client := srv.Client(t)
	ctx := context.Background()
	prefix := redistest.Prefix(t)
	long := sessiontest.NewApp(t, sessiontest.MustManager(t, New(client), prefix, nil))
	short := sessiontest.NewApp(t, sessiontest.MustManager(t, New(client), prefix, func(c *session.Config) {
		c.IdleTimeout, c.TouchInterval = 100*time.Millisecond, 50*time.Millisecond
	}))
	keeper := long.M.Index("keeper")
	sameHash := func(from, n int) []string { // names whose index is in keeper's hash
		var out []string
		for i := from; len(out) < n; i++ {
			if name := fmt.Sprintf("u%d", i); long.M.Index(name).Key == keeper.Key {
				out = append(out, name)
			}
		}
		return out
	}
	gone := sameHash(0, 20)
	for _, name := range gone { // 20 users who idle out
		short.Login(name)
	}
	long.Login("keeper")
	if n := client.HLen(ctx, keeper.Key).Val(); n != 21 {
		t.Fatalf("index hash holds %d users, want 21", n)
	}
	time.Sleep(2100 * time.Millisecond)
	for range 200 { // a user's own logins prune its entries, not others'
		long.Login("keeper")
	}
	v := client.HGet(ctx, keeper.Key, keeper.Field).Val()
	if len(v) != 16*50 { // 201 logins, at most 50 per user: the oldest ended
		t.Errorf("keeper's field is %d bytes, want 50 entries of 16", len(v))
	}
	// 200 new users of the hash: each dead field is sampled with
	// probability about 99%; at most 4 of 20 left is a 1-in-a-million miss.
	newcomers := sameHash(100000, 200)
	for _, name := range newcomers {
		long.Login(name)
	}
	left := 0
	for _, name := range gone {
		if client.HExists(ctx, keeper.Key, long.M.Index(name).Field).Val() {
			left++
		}
	}
	if left > 4 {
		t.Errorf("%d of 20 dead users' fields still in the index hash after 200 newcomers", left)
	}
	t.Logf("dead fields left: %d of 20; hash holds %d fields", left, client.HLen(ctx, keeper.Key).Val())
}

// Listing, revoking one and revoking all cost the same whatever the
// history of the name: 150 logins of one name (at most 50 live), then a
// listing reads the index once (per layout) and each live session once;
// revoking one reads the index and ends one session, loading none.
func TestListingCostIsBoundedByTheMaximum(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	client := srv.Client(t)
	m := sessiontest.MustManager(t, New(client), redistest.Prefix(t), nil)
	a := sessiontest.NewApp(t, m)
	ctx := context.Background()
	var last string
	for range 150 {
		last = a.Login("crowd")
	}
	count := func(fn func()) map[string]int64 {
		before := redistest.CommandStats(t, client)
		fn()
		return redistest.Diff(before, redistest.CommandStats(t, client), "info", "hello", "client|setinfo") // connection set-up aside
	}
	var list []session.Info
	listing := count(func() {
		var err error
		if list, err = m.List(ctx, "crowd", nil); err != nil {
			t.Fatal(err)
		}
	})
	if len(list) != 50 {
		t.Fatalf("%d sessions listed, want the 50 kept", len(list))
	}
	// one index read per layout this release reads (see session.Layout)
	if want := map[string]int64{"hget": int64(len(session.Layouts())), "hgetall": 50}; fmt.Sprint(listing) != fmt.Sprint(want) {
		t.Errorf("listing 50 of 150 logins: commands %v, want %v", listing, want)
	}
	target := list[0].ID
	revoke := count(func() {
		if ok, err := m.Revoke(ctx, "crowd", target); !ok || err != nil {
			t.Fatalf("revoke: %v %v", ok, err)
		}
	})
	if revoke["hgetall"] != 0 || revoke["hget"] < 1 || revoke["fcall"] != 1 || revoke["unlink"] != 1 {
		t.Errorf("revoking one: commands %v, want one index read and one ending script, no session read", revoke)
	}
	all := count(func() {
		if n, err := m.RevokeAll(ctx, "crowd"); n != 49 || err != nil {
			t.Fatalf("revoke-all: %d %v", n, err)
		}
	})
	if all["hgetall"] != 0 || all["fcall"] != 1 || all["unlink"] != 49 {
		t.Errorf("revoking all 49: commands %v, want one script ending 49, no session read", all)
	}
	if a.Body("GET", "/user", last) != "" {
		t.Error("the last session survived revoke-all")
	}
}

// Keys of another type under the names of the index (an earlier release
// kept a sorted set per name at u:<name>, so 256 sign-ins named {00} to
// {ff} left one at every index hash's name) are not ours: they are treated
// as absent, and never turn every login into a 503.
func TestForeignKeysUnderOurNamesAreTreatedAsAbsent(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	client := srv.Client(t)
	ctx := context.Background()
	prefix := redistest.Prefix(t)
	m := sessiontest.MustManager(t, New(client), prefix, nil)
	for i := range 256 {
		key := fmt.Sprintf("%su:{%02x}", prefix, i)
		if err := client.ZAdd(ctx, key, redis.Z{Score: 1, Member: "old-session"}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	a := sessiontest.NewApp(t, m)
	var cookies []string
	for i := range 20 {
		rec, c := a.Do("POST", fmt.Sprintf("/login/new%d", i), "")
		if rec.Code != http.StatusOK || c == "" || c == "-" {
			t.Fatalf("login %d with foreign keys under the index names: %d %q", i, rec.Code, rec.Body.String())
		}
		cookies = append(cookies, c)
	}
	for i, c := range cookies {
		user := fmt.Sprintf("new%d", i)
		if got := a.Body("GET", "/user", c); got != user {
			t.Fatalf("session %d: user %q", i, got)
		}
		if list, err := m.List(ctx, user, nil); err != nil || len(list) != 1 {
			t.Fatalf("listing %s: %d (%v), want 1", user, len(list), err)
		}
		if n, err := m.RevokeAll(ctx, user); err != nil || n != 1 {
			t.Fatalf("revoke-all of %s: %d (%v)", user, n, err)
		}
		if got := a.Body("GET", "/user", c); got != "" {
			t.Fatalf("session %d survived revoke-all", i)
		}
	}
}
