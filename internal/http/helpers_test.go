package http

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/procs"
	"github.com/sessiond/sessiond/internal/ratelimit"
	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/filestore"
	"github.com/sessiond/sessiond/internal/session/redisstore"
	"github.com/sessiond/sessiond/templates"
)

var testKey = []byte("0123456789abcdef0123456789abcdef-test-key")

// world is one Redis (started for the test) and a key prefix that the
// test's replicas share.
type world struct {
	t      *testing.T
	redis  *redistest.Server
	prefix string
	rdb    *redis.Client // for inspecting the store
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := redistest.Start(t)
	return &world{t: t, redis: srv, prefix: redistest.Prefix(t), rdb: srv.Client(t)}
}

// options of a replica; zero values take the engine's defaults.
type options struct {
	permanent bool
	lifetime  time.Duration
	idle      time.Duration
	timeout   time.Duration
	keys      [][]byte
	proxies   []netip.Prefix
	draining  func() bool
	// loginLimit is POST /login attempts per minute per client IP,
	// counted in the world's Redis (in memory for filesReplica); 0 is off.
	loginLimit int
	// limiter, if set, replaces the one loginLimit would make.
	limiter ratelimit.Limiter
	// logLevel of the replica's JSON log (default info).
	logLevel slog.Level
	// now is the engine's clock (default time.Now).
	now func() time.Time
}

// replica is one full server (NewServer behind a real listener).
type replica struct {
	name    string
	url     string
	srv     *httptest.Server
	metrics *Metrics
	logs    *procs.SyncBuffer
}

func (w *world) replica(name string, o options) *replica {
	w.t.Helper()
	client := redis.NewClient(&redis.Options{
		Addr: w.redis.Addr, ContextTimeoutEnabled: true, MaxRetries: -1,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, PoolTimeout: time.Second,
	})
	w.t.Cleanup(func() { client.Close() })
	return startReplica(w.t, name, redisstore.New(client), w.prefix, o, client)
}

// filesReplica is a replica on a filesystem store in a temp folder.
func filesReplica(t *testing.T, o options) *replica {
	t.Helper()
	var opts []filestore.Option
	if o.now != nil {
		opts = append(opts, filestore.WithClock(o.now)) // one clock, the store's
	}
	f, err := filestore.New(t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return startReplica(t, "files", f, "", o, nil)
}

// startReplica serves b; client is the Redis client behind b, or nil.
func startReplica(t *testing.T, name string, b session.Backend, prefix string, o options, client redis.UniversalClient) *replica {
	t.Helper()
	if o.keys == nil {
		o.keys = [][]byte{testKey}
	}
	if o.timeout == 0 {
		o.timeout = time.Second
	}
	metrics := NewMetrics()
	limiter := o.limiter
	switch {
	case limiter != nil:
	case o.loginLimit == 0:
		limiter = ratelimit.Off{}
	case client != nil:
		limiter = ratelimit.NewRedis(client, prefix+"login:", o.loginLimit)
	default:
		limiter = ratelimit.NewLocal(o.loginLimit)
	}
	if client != nil {
		metrics.WatchRedisPool(client)
	}
	logs := &procs.SyncBuffer{} // safe for concurrent handlers
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: o.logLevel}))
	proxies := NewProxies(o.proxies)
	m, err := session.NewManager(session.Config{
		Backend: b, Keys: o.keys, KeyPrefix: prefix,
		Cookie:   session.Cookie{Name: CookieName, Persistent: o.permanent, Secure: proxies.IsHTTPS},
		Lifetime: o.lifetime, IdleTimeout: o.idle, Timeout: o.timeout,
		Observer: metrics, Logger: logger, Now: o.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(Config{
		Sessions: m, Pages: pages, Metrics: metrics, Logger: logger,
		Replica: name, Proxies: proxies, Draining: o.draining, LoginLimiter: limiter,
	}))
	t.Cleanup(srv.Close)
	return &replica{name: name, url: srv.URL, srv: srv, metrics: metrics, logs: logs}
}

// browser keeps one session cookie and follows no redirects.
type browser struct {
	t      *testing.T
	mu     sync.Mutex
	cookie string
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	return &browser{t: t, client: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	*http.Response
	text string
}

// do sends a request (a form when form is not nil) with the browser's
// cookie; edit may change the request before it goes. A request that gets
// no answer ends the test, so do belongs to the test's own goroutine;
// other goroutines use try.
func (b *browser) do(method, target string, form url.Values, edit ...func(*http.Request)) *response {
	b.t.Helper()
	res, err := b.try(method, target, form, edit...)
	if err != nil {
		b.t.Fatal(err)
	}
	return res
}

// try is do for any goroutine: a request that gets no answer is an error
// for the caller to report, not the end of the test.
func (b *browser) try(method, target string, form url.Values, edit ...func(*http.Request)) (*response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c := b.cookieValue(); c != "" {
		req.AddCookie(&http.Cookie{Name: CookieName, Value: c})
	}
	for _, e := range edit {
		e(req)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		if c.Name == CookieName {
			b.mu.Lock()
			if c.MaxAge < 0 {
				b.cookie = ""
			} else {
				b.cookie = c.Value
			}
			b.mu.Unlock()
		}
	}
	return &response{Response: resp, text: string(text)}, nil
}

func (b *browser) cookieValue() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cookie
}

func (b *browser) setCookie(v string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cookie = v
}

func (b *browser) get(target string) *response {
	b.t.Helper()
	return b.do(http.MethodGet, target, nil)
}

func (b *browser) post(target string, kv ...string) *response {
	b.t.Helper()
	return b.do(http.MethodPost, target, form(kv...))
}

// tryPost is post for any goroutine (see try).
func (b *browser) tryPost(target string, kv ...string) (*response, error) {
	return b.try(http.MethodPost, target, form(kv...))
}

// login signs b in as name on r and fails the test otherwise.
func (b *browser) login(r *replica, name string) {
	b.t.Helper()
	res := b.post(r.url+"/login", "name", name)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" || b.cookieValue() == "" {
		b.t.Fatalf("login %q: %d %s %q", name, res.StatusCode, res.Header.Get("Location"), res.text)
	}
}

// me is /api/me, decoded.
type me struct {
	Name        string           `json:"name"`
	Theme       string           `json:"theme"`
	ThemeChoice string           `json:"theme_choice"`
	Cart        map[string]int64 `json:"cart"`
	Session     struct {
		CreatedAt time.Time `json:"created_at"`
		ExpiresAt time.Time `json:"expires_at"`
	} `json:"session"`
}

func expect(t *testing.T, res *response, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body: %.300s", res.Request.Method, res.Request.URL.Path, res.StatusCode, status, res.text)
	}
}

// sessionKeys are the stored sessions under the world's prefix.
// sessionKeys are the keys that hold a session (not a renamed session's
// forward).
func (w *world) sessionKeys() []string {
	w.t.Helper()
	ctx := context.Background()
	keys, err := w.rdb.Keys(ctx, w.prefix+"s:*").Result()
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, k := range keys {
		if held, err := w.rdb.HExists(ctx, k, session.MetaField).Result(); err != nil {
			w.t.Fatal(err)
		} else if held {
			out = append(out, k)
		}
	}
	return out
}

// stats is INFO commandstats of the world's Redis.
func (w *world) stats() map[string]int64 { return redistest.CommandStats(w.t, w.rdb) }

// readOnly are commands that change nothing (reads and connection set-up).
var readOnly = map[string]bool{
	"hgetall": true, "hget": true, "hexists": true, "zrangebyscore": true, "ping": true, "info": true, "keys": true,
	"hello": true, "client|setinfo": true, "client|setname": true, "select": true,
	"command": true, "command|docs": true, "exists": true, "ttl": true, "pttl": true,
}

// writes are the commands in a commandstats diff that are not read-only.
func writes(diff map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range diff {
		if !readOnly[k] {
			out[k] = v
		}
	}
	return out
}

func form(kv ...string) url.Values {
	f := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Add(kv[i], kv[i+1])
	}
	return f
}

func redistestDiff(before, after map[string]int64) map[string]int64 {
	return redistest.Diff(before, after)
}
