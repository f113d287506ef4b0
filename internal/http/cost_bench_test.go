package http

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/ratelimit"
	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/filestore"
	"github.com/sessiond/sessiond/internal/session/redisstore"
	"github.com/sessiond/sessiond/templates"
)

// These benchmarks measure what the web layer costs per request: the
// whole handler (every middleware, the page, the session engine) called
// in-process, without sockets. The response writer does what net/http
// does with the headers (a copy, sorted and written out), so a header
// more or less counts. The log goes to io.Discard: formatting counts, the
// write system call of the real service does not.
//
//	go test -run '^$' -bench . -benchmem -count 6 ./internal/http/

// benchWriter is a reusable http.ResponseWriter that discards the body.
type benchWriter struct {
	h      http.Header
	status int
	wrote  bool
}

func (w *benchWriter) Header() http.Header { return w.h }

func (w *benchWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote, w.status = true, code
	// What net/http's response does when the header goes out.
	_ = w.h.Clone().Write(io.Discard)
}

func (w *benchWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(b), nil
}

func (w *benchWriter) reset() {
	clear(w.h)
	w.status, w.wrote = 0, false
}

// benchServer is NewServer on backend b, logging JSON at level to
// io.Discard.
func benchServer(b *testing.B, backend session.Backend, prefix string, level slog.Level) http.Handler {
	b.Helper()
	metrics := NewMetrics()
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: level}))
	m, err := session.NewManager(session.Config{
		Backend: backend, Keys: [][]byte{testKey}, KeyPrefix: prefix,
		Cookie:   session.Cookie{Name: CookieName},
		Observer: metrics, Logger: logger,
	})
	if err != nil {
		b.Fatal(err)
	}
	pages, err := templates.Parse()
	if err != nil {
		b.Fatal(err)
	}
	return NewServer(Config{
		Sessions: m, Pages: pages, Metrics: metrics, Logger: logger, LogJSON: io.Discard,
		Replica: "bench", Proxies: NewProxies(nil), LoginLimiter: ratelimit.Off{},
	})
}

func filesBackend(b *testing.B) session.Backend {
	b.Helper()
	f, err := filestore.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

func redisBackend(b *testing.B) (session.Backend, string) {
	b.Helper()
	srv := redistest.Start(b)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true, ReadTimeout: time.Second, WriteTimeout: time.Second})
	b.Cleanup(func() { client.Close() })
	return redisstore.New(client), redistest.Prefix(b)
}

// serve runs one request through h and checks its status.
func serve(b *testing.B, h http.Handler, w *benchWriter, r *http.Request, want int) {
	w.reset()
	h.ServeHTTP(w, r)
	if w.status != want {
		b.Fatalf("%s %s: status %d, want %d", r.Method, r.URL.Path, w.status, want)
	}
}

func getRequest(path, cookie string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://bench.test"+path, nil)
	r.RemoteAddr = "127.0.0.1:40000"
	r.Body = http.NoBody
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

// formRequest is a fresh POST of form (a body is read once).
func formRequest(path, cookie string, form url.Values) *http.Request {
	body := form.Encode()
	r, _ := http.NewRequest(http.MethodPost, "http://bench.test"+path, strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

// signIn logs a browser in and returns its cookie ("session=...").
func signIn(b *testing.B, h http.Handler, name string) string {
	b.Helper()
	w := &benchWriter{h: http.Header{}}
	serve(b, h, w, formRequest("/login", "", url.Values{"name": {name}}), http.StatusSeeOther)
	for _, c := range (&http.Response{Header: w.h}).Cookies() {
		if c.Name == CookieName && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	b.Fatal("login set no session cookie")
	return ""
}

func BenchmarkAnonymousHome(b *testing.B) { benchGet(b, slog.LevelInfo, "/", http.StatusSeeOther) }

// BenchmarkAnonymousHomeQuiet is the same with LOG_LEVEL=warn: the request
// line is dropped, so this shows what building it costs.
func BenchmarkAnonymousHomeQuiet(b *testing.B) {
	benchGet(b, slog.LevelWarn, "/", http.StatusSeeOther)
}

func BenchmarkHealthz(b *testing.B) { benchGet(b, slog.LevelInfo, "/healthz", http.StatusOK) }

// benchGet serves an anonymous GET of path on the filesystem store, logging
// at level, and expects want every time.
func benchGet(b *testing.B, level slog.Level, path string, want int) {
	h := benchServer(b, filesBackend(b), "", level)
	w, r := &benchWriter{h: http.Header{}}, getRequest(path, "")
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, w, r, want)
	}
}

// BenchmarkSignedInHome is a signed-in GET / with a theme and a two-item
// cart, on a real Redis: one HGETALL per request.
func BenchmarkSignedInHome(b *testing.B) {
	backend, prefix := redisBackend(b)
	h := benchServer(b, backend, prefix, slog.LevelInfo)
	cookie := signIn(b, h, "bench")
	w := &benchWriter{h: http.Header{}}
	for _, f := range []url.Values{{"theme": {"dark"}}, {"item": {"apple"}, "qty": {"2"}}, {"item": {"pear"}}} {
		path := "/cart/add"
		if f.Has("theme") {
			path = "/theme"
		}
		serve(b, h, w, formRequest(path, cookie, f), http.StatusSeeOther)
	}
	r := getRequest("/", cookie)
	serve(b, h, w, r, http.StatusOK) // shows, and so clears, the notices
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, w, r, http.StatusOK)
	}
}

// BenchmarkSignedInHomeFiles is the same page on the filesystem store, so
// no network round trip blurs the web layer's share.
func BenchmarkSignedInHomeFiles(b *testing.B) {
	h := benchServer(b, filesBackend(b), "", slog.LevelInfo)
	cookie := signIn(b, h, "bench")
	w := &benchWriter{h: http.Header{}}
	serve(b, h, w, formRequest("/theme", cookie, url.Values{"theme": {"dark"}}), http.StatusSeeOther)
	serve(b, h, w, formRequest("/cart/add", cookie, url.Values{"item": {"apple"}, "qty": {"2"}}), http.StatusSeeOther)
	r := getRequest("/", cookie)
	serve(b, h, w, r, http.StatusOK)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, w, r, http.StatusOK)
	}
}

// BenchmarkLogin is a new browser logging in, on a real Redis.
func BenchmarkLogin(b *testing.B) {
	backend, prefix := redisBackend(b)
	h := benchServer(b, backend, prefix, slog.LevelInfo)
	w := &benchWriter{h: http.Header{}}
	names := []string{"ann", "bob", "cy", "dee", "eve", "fay", "gus", "hal"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		serve(b, h, w, formRequest("/login", "", url.Values{"name": {names[i%len(names)]}}), http.StatusSeeOther)
	}
}

// BenchmarkCartAdd adds one of ten items per request to one signed-in
// session, on a real Redis.
func BenchmarkCartAdd(b *testing.B) {
	backend, prefix := redisBackend(b)
	h := benchServer(b, backend, prefix, slog.LevelInfo)
	cookie := signIn(b, h, "bench")
	w := &benchWriter{h: http.Header{}}
	items := []string{"apple", "pear", "plum", "fig", "kiwi", "lime", "date", "grape", "melon", "peach"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if i%(len(items)*90) == 0 { // stay under the quantity limit
			b.StopTimer()
			cookie = signIn(b, h, "bench")
			b.StartTimer()
		}
		serve(b, h, w, formRequest("/cart/add", cookie, url.Values{"item": {items[i%len(items)]}, "qty": {"1"}}), http.StatusSeeOther)
	}
}

// BenchmarkRequestMetric is the latency metric of one request.
func BenchmarkRequestMetric(b *testing.B) {
	m := NewMetrics()
	b.ReportAllocs()
	for b.Loop() {
		m.request("/", http.MethodGet, http.StatusSeeOther, time.Millisecond)
	}
}
