package session

import (
	"context"
	"os"
	"path/filepath"

	"errors"
	"fmt"
	"github.com/sessiond/sessiond/internal/redistest"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// load runs Manager.Load for a request carrying cookie.
func load(t *testing.T, m *Manager, cookie string) *Session {
	t.Helper()
	req := httptest.NewRequestWithContext(context.Background(), "GET", "/", nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	s, err := m.Load(req, "session")
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	s.w = httptest.NewRecorder()
	return s
}

func forEachBackend(t *testing.T, fn func(t *testing.T, b Backend, prefix string)) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			t.Parallel()
			b, prefix := bc.open(t)
			fn(t, b, prefix)
		})
	}
}

func TestLoginKeepsDataAndKillsOldID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend, prefix string) {
		a := newApp(t, mustManager(t, b, prefix, nil))
		c1 := a.login("ann")
		if _, set := a.do("POST", "/set/theme/dark", c1); set != "" {
			t.Fatalf("a plain change re-sent the cookie: %q", set)
		}
		_, c2 := a.do("POST", "/login/bob", c1)
		if c2 == "" || c2 == "-" || c2 == c1 {
			t.Fatalf("login did not issue a new id: %q", c2)
		}
		if got := a.body("GET", "/get/theme", c2); got != "dark" {
			t.Errorf("data after login = %q, want dark", got)
		}
		if got := a.body("GET", "/user", c2); got != "bob" {
			t.Errorf("user = %q", got)
		}
		if got := a.body("GET", "/user", c1); got != "" {
			t.Errorf("old id still works after login: user %q", got)
		}
		if _, set := a.do("GET", "/user", c1); set != "-" {
			t.Errorf("dead cookie was not expired: %q", set)
		}
		// the selector kept its hash tag (same Cluster slot) but nothing else
		t1, _, _ := a.m.signer.decode(c1)
		t2, _, _ := a.m.signer.decode(c2)
		if t1.selector[:tagChars] != t2.selector[:tagChars] || t1.selector == t2.selector {
			t.Errorf("selectors %q -> %q", t1.selector, t2.selector)
		}
	})
}

func TestUnknownTamperedAndForeignCookiesAreNotAdopted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend, prefix string) {
		m := mustManager(t, b, prefix, nil)
		a := newApp(t, m)
		good := a.login("ann")
		other := mustManager(t, b, prefix, func(c *Config) { c.Keys = [][]byte{[]byte(strings.Repeat("x", 32))} })
		unknown := m.signer.encode(token{selector: "AAAAAAAAAAAAAAAA", verifier: make([]byte, verifierLen)})
		goodTok, _, _ := m.signer.decode(good)
		wrongVerifier := m.signer.encode(token{selector: goodTok.selector, verifier: make([]byte, verifierLen)})
		flip := []byte(good)
		flip[5] ^= 1
		for name, c := range map[string]string{
			"tampered":       string(flip),
			"truncated":      good[:len(good)-2],
			"unsigned":       good[:rawChars],
			"unknown id":     unknown,
			"wrong verifier": wrongVerifier,
			"other key":      other.signer.encode(goodTok),
			"garbage":        "%%%not-a-token",
		} {
			rec, set := a.do("GET", "/user", c)
			if rec.Body.String() != "" {
				t.Errorf("%s: adopted as user %q", name, rec.Body.String())
			}
			if set != "-" {
				t.Errorf("%s: cookie not expired (%q)", name, set)
			}
			// logging in from a bad cookie gives a fresh id
			_, c2 := a.do("POST", "/login/eve", c)
			tok2, _, err := m.signer.decode(c2)
			if err != nil || tok2.selector == goodTok.selector || strings.HasPrefix(c2, c[:min(len(c), rawChars)]) {
				t.Errorf("%s: login reused the presented id", name)
			}
		}
		if a.body("GET", "/user", good) != "ann" {
			t.Error("the genuine session was harmed")
		}
	})
}

func TestConcurrentIncrementsAllCount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend, prefix string) {
		a := newApp(t, mustManager(t, b, prefix, nil))
		c := a.login("ann")
		var wg sync.WaitGroup
		var failed sync.Map
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if rec, _ := a.do("POST", "/incr/apples", c); rec.Code != 200 {
					failed.Store(i, rec.Code)
				}
			}()
		}
		wg.Wait()
		failed.Range(func(k, v any) bool { t.Errorf("incr %v: status %v", k, v); return true })
		if got := a.body("GET", "/get/apples", c); got != "100" {
			t.Errorf("apples = %s, want 100", got)
		}
	})
}

func TestCompareAndSetDetectsSameFieldConflict(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend, prefix string) {
		m := mustManager(t, b, prefix, nil)
		c := newApp(t, m).login("ann")
		s1, s2, s3 := load(t, m, c), load(t, m, c), load(t, m, c)
		s1.Set("theme", "dark")
		if err := s1.Save(); err != nil {
			t.Fatal(err)
		}
		s2.Set("theme", "light")
		var ce *ConflictError
		if err := s2.Save(); !errors.As(err, &ce) || !errors.Is(err, ErrConflict) || ce.Fields[0] != "theme" {
			t.Fatalf("conflicting write: err %v, want a conflict on theme", err)
		}
		// a different field is no conflict, and setting the value that is
		// already there is none either
		s3.Set("lang", "en")
		s3.Set("theme", "dark")
		if err := s3.Save(); err != nil {
			t.Fatalf("independent write: %v", err)
		}
		// the loser retries from a fresh read and wins cleanly
		if err := s2.Reload(); err != nil {
			t.Fatal(err)
		}
		s2.Set("theme", "light")
		if err := s2.Save(); err != nil {
			t.Fatal(err)
		}
		got := load(t, m, c)
		if got.String("theme") != "light" || got.String("lang") != "en" {
			t.Errorf("after retry: theme %q lang %q", got.String("theme"), got.String("lang"))
		}
	})
}

func TestWriteRacingLogoutFailsAndDoesNotResurrect(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend, prefix string) {
		m := mustManager(t, b, prefix, nil)
		a := newApp(t, m)
		c := a.login("ann")
		writer := load(t, m, c)
		if rec, set := a.do("POST", "/logout", c); rec.Code != 200 || set != "-" {
			t.Fatalf("logout: %d cookie %q", rec.Code, set)
		}
		writer.Set("theme", "dark")
		writer.Incr("cart:apple", 1, 99)
		if err := writer.Save(); !errors.Is(err, ErrGone) {
			t.Fatalf("write after logout: %v, want ErrGone", err)
		}
		tok, _, _ := m.signer.decode(c)
		if _, found, _ := b.Load(context.Background(), m.sessionKey(tok.selector)); found {
			t.Fatal("the session came back")
		}
		renamer := load(t, m, a.login("bob"))
		if _, err := m.RevokeAll(context.Background(), "bob"); err != nil {
			t.Fatal(err)
		}
		renamer.Login("bob")
		if err := renamer.Save(); !errors.Is(err, ErrGone) {
			t.Fatalf("login racing revoke-all: %v, want ErrGone", err)
		}
		if list, _ := m.List(context.Background(), "bob", nil); len(list) != 0 {
			t.Fatalf("revoked session listed again: %+v", list)
		}
	})
}

func TestIdleAndAbsoluteExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend, prefix string) {
		idle := mustManager(t, b, prefix, func(c *Config) {
			c.IdleTimeout, c.TouchInterval, c.Lifetime = 600*time.Millisecond, 100*time.Millisecond, time.Hour
		})
		a := newApp(t, idle)
		prev := time.Now() // expiry runs from the request, not its answer
		c := a.login("ann")
		// Used every 200ms for 1.2s: the sliding idle window keeps it alive.
		// It is guaranteed alive while less than idle-touch has passed since
		// the previous request began; on a loaded machine a longer gap
		// proves nothing, so only shorter gaps are judged.
		for judged, tries := 0, 0; judged < 6; tries++ {
			if tries > 30 {
				t.Fatal("machine too loaded to judge sliding expiry in 30 tries")
			}
			time.Sleep(200 * time.Millisecond)
			start := time.Now()
			rec, _ := a.do("GET", "/user", c)
			if rec.Code != http.StatusOK {
				continue // a store timeout on a loaded machine says nothing of expiry
			}
			alive := rec.Body.String() == "ann"
			// The previous request stored last-seen no earlier than its
			// start minus the touch interval; this one loaded it no later
			// than now. So it must be alive if now-prev < idle-touch.
			switch gap := time.Since(prev); {
			case gap >= 500*time.Millisecond && !alive:
				start = time.Now()
				c, judged = a.login("ann"), 0 // too long a gap: start over
			case !alive:
				t.Fatalf("active session expired %v after the previous request", gap)
			case gap < 500*time.Millisecond:
				judged++
			}
			prev = start
		}
		time.Sleep(700 * time.Millisecond)
		if got := a.body("GET", "/user", c); got != "" {
			t.Fatalf("idle session still alive: %q", got)
		}

		abs := mustManager(t, b, prefix, func(c *Config) {
			c.IdleTimeout, c.TouchInterval, c.Lifetime = time.Hour, 50*time.Millisecond, 700*time.Millisecond
		})
		a = newApp(t, abs)
		created := time.Now()
		c = a.login("ann")
		deadline := created.Add(700 * time.Millisecond)
		for {
			alive := a.body("GET", "/user", c) == "ann"
			if !alive && time.Now().Before(deadline) {
				t.Fatal("session ended before its lifetime")
			}
			if !alive || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Until(deadline.Add(100 * time.Millisecond)))
		if got := a.body("GET", "/user", c); got != "" {
			t.Fatalf("session outlived its absolute lifetime: %q", got)
		}
	})
}

func TestUserIndexListRevokeAndPrune(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend, prefix string) {
		m := mustManager(t, b, prefix, nil)
		a := newApp(t, m)
		ctx := context.Background()
		c1, c2, c3 := a.login("ann"), a.login("ann"), a.login("ann")
		a.login("bob")
		list, err := m.List(ctx, "ann", load(t, m, c2))
		if err != nil || len(list) != 3 {
			t.Fatalf("list: %v %+v", err, list)
		}
		current := 0
		for _, in := range list {
			if in.Current {
				current++
			}
			if strings.Contains(c1+c2+c3, in.ID) {
				t.Errorf("public id %q is part of a cookie", in.ID)
			}
		}
		if current != 1 {
			t.Errorf("%d sessions marked current", current)
		}
		// logout leaves the index entry to be pruned by the next listing
		a.do("POST", "/logout", c3)
		if list, _ = m.List(ctx, "ann", nil); len(list) != 2 {
			t.Fatalf("after logout: %d listed", len(list))
		}
		entries, _ := b.IndexList(ctx, m.indexKey("ann"))
		if len(entries) != 2 {
			t.Errorf("index not pruned: %d entries", len(entries))
		}
		// revoke one by public id; someone else's id does nothing
		bobs, _ := m.List(ctx, "bob", nil)
		if ok, _ := m.Revoke(ctx, "ann", bobs[0].ID); ok {
			t.Error("revoked another user's session")
		}
		target := load(t, m, c1)
		if ok, err := m.Revoke(ctx, "ann", target.ID()); !ok || err != nil {
			t.Fatalf("revoke: %v %v", ok, err)
		}
		if a.body("GET", "/user", c1) != "" || a.body("GET", "/user", c2) != "ann" {
			t.Error("revoke hit the wrong session")
		}
		n, err := m.RevokeAll(ctx, "ann")
		if err != nil || n != 1 || a.body("GET", "/user", c2) != "" {
			t.Fatalf("revoke-all: n=%d err=%v", n, err)
		}
		if bobs, _ = m.List(ctx, "bob", nil); len(bobs) != 1 {
			t.Error("revoke-all of ann touched bob")
		}
	})
}

func TestKeyRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend, prefix string) {
		oldKey, newKey := []byte(strings.Repeat("o", 32)), []byte(strings.Repeat("n", 32))
		before := newApp(t, mustManager(t, b, prefix, func(c *Config) { c.Keys = [][]byte{oldKey} }))
		c := before.login("ann")
		rotated := newApp(t, mustManager(t, b, prefix, func(c *Config) { c.Keys = [][]byte{newKey, oldKey} }))
		rec, resigned := rotated.do("GET", "/user", c)
		if rec.Body.String() != "ann" || resigned == "" || resigned == "-" || resigned == c {
			t.Fatalf("rotation: user %q, re-signed cookie %q", rec.Body.String(), resigned)
		}
		after := newApp(t, mustManager(t, b, prefix, func(c *Config) { c.Keys = [][]byte{newKey} }))
		if after.body("GET", "/user", c) != "" {
			t.Error("a session signed only by a removed key still works")
		}
		if after.body("GET", "/user", resigned) != "ann" {
			t.Error("the re-signed cookie does not work after the old key is gone")
		}
	})
}

func TestCookieFlags(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend, prefix string) {
		for _, permanent := range []bool{false, true} {
			a := newApp(t, mustManager(t, b, prefix, func(c *Config) { c.Permanent, c.Lifetime = permanent, 2*time.Hour }))
			rec, _ := a.do("POST", "/login/ann", "")
			raw := rec.Header().Get("Set-Cookie")
			for _, want := range []string{"session=", "Path=/", "HttpOnly", "SameSite=Lax"} {
				if !strings.Contains(raw, want) {
					t.Errorf("permanent=%v: %q lacks %s", permanent, raw, want)
				}
			}
			hasAge := strings.Contains(raw, "Max-Age=") || strings.Contains(raw, "Expires=")
			if hasAge != permanent {
				t.Errorf("permanent=%v: cookie %q", permanent, raw)
			}
			if strings.Contains(raw, "Secure") {
				t.Errorf("Secure over plain HTTP: %q", raw)
			}
		}
	})
}

func TestFilesAnonymousRequestsStoreNothing(t *testing.T) {
	dir := t.TempDir()
	f, err := NewFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := newApp(t, mustManager(t, f, "", nil))
	for _, p := range []string{"/nothing", "/get/x", "/user"} {
		if _, set := a.do("GET", p, ""); set != "" {
			t.Errorf("anonymous %s set a cookie", p)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "data")); len(entries) != 0 {
		t.Errorf("anonymous requests stored %d files", len(entries))
	}
}

// Redis commands per request, counted by the server itself.
func TestRedisCommandsPerRequest(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	client := srv.Client(t)
	a := newApp(t, mustManager(t, NewRedis(client), "", nil))
	c := a.login("ann")
	a.do("POST", "/set/theme/dark", c) // warm the script cache
	count := func(n int, method, path, cookie string) map[string]int64 {
		before := redistest.CommandStats(t, client)
		for range n {
			a.do(method, path, cookie)
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
	m := mustManager(t, NewRedis(srv.Client(t)), "", func(c *Config) { c.Timeout = 300 * time.Millisecond })
	a := newApp(t, m)
	c := a.login("ann")
	srv.Stop()
	for _, p := range []string{"/user", "/get/theme"} {
		rec, set := a.do("GET", p, c)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s during outage: %d %q", p, rec.Code, rec.Body.String())
		}
		if set == "-" {
			t.Errorf("%s during outage expired the cookie", p)
		}
	}
	if _, err := m.Load(httptest.NewRequest("GET", "/", nil), "session"); err != nil {
		t.Errorf("a request without a cookie needs no store: %v", err)
	}
	srv.Start()
	waitUntil(t, 5*time.Second, func() bool { return a.body("GET", "/user", c) == "ann" })
}

func TestSessionKeyLayout(t *testing.T) {
	m := mustManager(t, NewRedis(nil), "app:", nil)
	tok, _ := newToken("")
	key := m.sessionKey(tok.selector)
	want := fmt.Sprintf("app:s:{%s}%s", tok.selector[:4], tok.selector[4:])
	if key != want {
		t.Errorf("key %q, want %q", key, want)
	}
	if m.indexKey("ann") != "app:u:ann" {
		t.Errorf("index key %q", m.indexKey("ann"))
	}
}

// The per-user index stays bounded without listings: entries past their
// deadline are pruned by the writes once the index holds more than a few,
// and the index key lives as long as its latest deadline.
func TestIndexStaysBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend, prefix string) {
		ctx := context.Background()
		idx := prefix + "u:bounded"
		long := time.Now().Add(time.Hour)
		if err := b.IndexAdd(ctx, idx, "keep0000000000AA", long); err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			if err := b.IndexAdd(ctx, idx, fmt.Sprintf("short%011d", i), time.Now().Add(100*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(200 * time.Millisecond)
		if err := b.IndexAdd(ctx, idx, "keep0000000000BB", long.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if r, ok := b.(*Redis); ok {
			if n := r.c.ZCard(ctx, idx).Val(); n != 2 {
				t.Errorf("index holds %d entries, want the 2 live ones", n)
			}
			ttl := r.c.PTTL(ctx, idx).Val()
			if ttl < time.Hour || ttl > time.Hour+2*time.Minute {
				t.Errorf("index TTL %v, want its latest deadline (about 1h1m)", ttl)
			}
		}
		entries, err := b.IndexList(ctx, idx)
		if err != nil || len(entries) != 2 {
			t.Fatalf("live entries %v %v", entries, err)
		}
	})
}
