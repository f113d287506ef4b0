package redisstore

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

// Micro-benchmarks of the engine's hot paths against a real redis-server
// (no persistence, so Redis' own disk writes stay out of the numbers).
// Compare runs with benchstat:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./internal/session > new.txt
//	benchstat old.txt new.txt
//
// rediscmds/op counts every command Redis ran per operation (INFO
// commandstats), including those inside Lua scripts.

// benchManager starts a redis-server for b and returns a session.Manager on it and
// the client, for counting commands.
func benchManager(b *testing.B) (*session.Manager, *redis.Client) {
	b.Helper()
	srv := redistest.Start(b, "--appendonly", "no")
	c := srv.Client(b)
	m, err := session.NewManager(session.Config{Backend: New(c), Keys: [][]byte{sessiontest.Key}, KeyPrefix: redistest.Prefix(b)})
	if err != nil {
		b.Fatal(err)
	}
	return m, c
}

// headerWriter is a ResponseWriter that only keeps headers (cookies).
type headerWriter struct{ h http.Header }

func (w *headerWriter) Header() http.Header         { return w.h }
func (w *headerWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *headerWriter) WriteHeader(int)             {}

// benchSession stores a logged-in session like the service's after a few
// requests (a name, a theme, a two-item cart) and returns its cookie.
func benchSession(b *testing.B, m *session.Manager) *http.Cookie {
	b.Helper()
	req := httptest.NewRequest("POST", "/login", nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
	s, err := m.Load(req)
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.SetWriter(rec)
	s.Login("ann")
	s.Set("theme", "dark")
	s.Incr("cart.apple", 2, 99)
	s.Incr("cart.pear", 1, 99)
	if err := s.Save(); err != nil {
		b.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == "session" {
			return c
		}
	}
	b.Fatal("no session cookie")
	return nil
}

// loaded returns the stored session of cookie, as a request's Load gives it.
func loaded(b *testing.B, m *session.Manager, cookie *http.Cookie) *session.Session {
	b.Helper()
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookie)
	s, err := m.Load(req)
	if err != nil || s.User() != "ann" {
		b.Fatalf("load: %v, user %q", err, s.User())
	}
	return s
}

func reportRedis(b *testing.B, c *redis.Client, before map[string]int64) {
	b.Helper()
	var n int64
	for _, v := range redistest.Diff(before, redistest.CommandStats(b, c), "info") {
		n += v
	}
	b.ReportMetric(float64(n)/float64(b.N), "rediscmds/op")
}

// BenchmarkLoad: a logged-in request's read: cookie parse and verify,
// HGETALL, verifier check, expiry, JSON decoding of the values.
func BenchmarkLoad(b *testing.B) {
	m, c := benchManager(b)
	cookie := benchSession(b, m)
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookie)
	before := redistest.CommandStats(b, c)
	b.ReportAllocs()
	for b.Loop() {
		s, err := m.Load(req)
		if err != nil || s.IsNew() {
			b.Fatalf("load: %v", err)
		}
	}
	reportRedis(b, c, before)
}

// BenchmarkLoadParallel: Load from GOMAXPROCS goroutines (throughput with
// the client's connection pool in play).
func BenchmarkLoadParallel(b *testing.B) {
	m, _ := benchManager(b)
	cookie := benchSession(b, m)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(cookie)
		for pb.Next() {
			if s, err := m.Load(req); err != nil || s.IsNew() {
				b.Errorf("load: %v", err)
				return
			}
		}
	})
}

// BenchmarkSaveIncr: the delta save of a cart add, without the load: an
// atomic increment plus last-seen and TTL, one script call.
func BenchmarkSaveIncr(b *testing.B) {
	m, c := benchManager(b)
	s := loaded(b, m, benchSession(b, m))
	before := redistest.CommandStats(b, c)
	b.ReportAllocs()
	for b.Loop() {
		s.Incr("cart.apple", 1, 0)
		if err := s.Save(); err != nil {
			b.Fatal(err)
		}
	}
	reportRedis(b, c, before)
}

// BenchmarkSaveSet: the delta save of a theme change: a compare-and-set of
// one field plus last-seen and TTL, one script call.
func BenchmarkSaveSet(b *testing.B) {
	m, c := benchManager(b)
	s := loaded(b, m, benchSession(b, m))
	themes := [2]string{"light", "dark"}
	i := 0
	before := redistest.CommandStats(b, c)
	b.ReportAllocs()
	for b.Loop() {
		s.Set("theme", themes[i%2])
		i++
		if err := s.Save(); err != nil {
			b.Fatal(err)
		}
	}
	reportRedis(b, c, before)
}

// BenchmarkRegenerate: Login on an existing, logged-in session: new id and
// verifier, index add, rename with the delta, index remove, new cookie.
func BenchmarkRegenerate(b *testing.B) {
	m, c := benchManager(b)
	s := loaded(b, m, benchSession(b, m))
	w := &headerWriter{h: http.Header{}}
	before := redistest.CommandStats(b, c)
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		s.SetWriter(w)
		s.Login("ann")
		if err := s.Save(); err != nil {
			b.Fatal(err)
		}
	}
	reportRedis(b, c, before)
}

// BenchmarkLoginNew: login without a session (the POST /login of a fresh
// browser): new token, index add, create, cookie.
func BenchmarkLoginNew(b *testing.B) {
	m, c := benchManager(b)
	req := httptest.NewRequest("POST", "/login", nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
	w := &headerWriter{h: http.Header{}}
	before := redistest.CommandStats(b, c)
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		s, err := m.Load(req)
		if err != nil {
			b.Fatal(err)
		}
		s.SetWriter(w)
		s.Login("ann")
		if err := s.Save(); err != nil {
			b.Fatal(err)
		}
	}
	reportRedis(b, c, before)
}
