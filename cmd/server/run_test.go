package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/procs"
	"github.com/sessiond/sessiond/internal/redistest"
)

// server is one run() in this process.
type server struct {
	url  string
	logs *syncBuffer
	stop func() error // cancels run's context and returns its error
}

func startRun(t *testing.T, kv ...string) *server {
	t.Helper()
	port := redistest.FreePort(t)
	kv = append(kv, "ADDR", fmt.Sprintf("127.0.0.1:%d", port))
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	ended := make(chan struct{})
	var runErr error
	go func() {
		runErr = run(ctx, []string{"sessiond"}, env(kv...), logs, logs)
		close(ended)
	}()
	s := &server{url: fmt.Sprintf("http://127.0.0.1:%d", port), logs: logs}
	var once sync.Once
	var result error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case <-ended:
				result = runErr
			case <-time.After(20 * time.Second):
				result = fmt.Errorf("run did not return")
			}
		})
		return result
	}
	t.Cleanup(func() { _ = s.stop() })
	gone := func() error {
		select {
		case <-ended:
			return fmt.Errorf("run ended at start: %v", runErr)
		default:
			return nil
		}
	}
	if err := procs.WaitHTTP(s.url+"/healthz", http.StatusOK, 10*time.Second, gone); err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	return s
}

var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// call sends a request with cookie and returns status, the new cookie
// (unchanged if none was set; "" if expired) and the body.
func call(t *testing.T, method, target, cookie string, form url.Values) (*http.Response, string, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, c := range res.Cookies() {
		if c.Name == "session" {
			cookie = c.Value
			if c.MaxAge < 0 {
				cookie = ""
			}
		}
	}
	return res, cookie, string(b)
}

// TestRunFilesystemAlone: with nothing but ADDR set, in an empty working
// folder, the service runs on the filesystem store with a generated
// secret that survives a restart.
func TestRunFilesystemAlone(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s := startRun(t)
	res, cookie, _ := call(t, "POST", s.url+"/login", "", url.Values{"name": {"xena"}})
	if res.StatusCode != http.StatusSeeOther || cookie == "" {
		t.Fatalf("login: %d", res.StatusCode)
	}
	if res, _, body := call(t, "GET", s.url+"/", cookie, nil); res.StatusCode != 200 || !strings.Contains(body, "Hello, xena!") {
		t.Fatalf("home: %d %s", res.StatusCode, body)
	}
	fi, err := os.Stat(filepath.Join(dir, ".sessions", "secret"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	s = startRun(t)
	if res, _, body := call(t, "GET", s.url+"/api/me", cookie, nil); res.StatusCode != 200 || !strings.Contains(body, `"name":"xena"`) {
		t.Fatalf("after restart: %d %s", res.StatusCode, body)
	}
}

// TestRunReplicas: three full processes' worth of run() share one Redis:
// login on one, the name on another, logout on a third.
func TestRunReplicas(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	prefix := redistest.Prefix(t)
	common := []string{"REDIS_URL", rs.URL(), "SESSION_SECRET", goodSecret, "REDIS_KEY_PREFIX", prefix, "REDIS_TIMEOUT", "500ms"}
	a := startRun(t, append(common, "REPLICA_ID", "a")...)
	b := startRun(t, append(common, "REPLICA_ID", "b")...)
	c := startRun(t, append(common, "REPLICA_ID", "c")...)

	_, cookie, _ := call(t, "POST", a.url+"/login", "", url.Values{"name": {"yuri"}})
	res, _, body := call(t, "GET", b.url+"/", cookie, nil)
	if res.StatusCode != 200 || res.Header.Get("X-Replica") != "b" || !strings.Contains(body, "Hello, yuri!") {
		t.Fatalf("replica b: %d %s %s", res.StatusCode, res.Header.Get("X-Replica"), body)
	}
	res, after, _ := call(t, "POST", c.url+"/logout", cookie, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("X-Replica") != "c" || after != "" {
		t.Fatalf("logout on c: %d cookie %q", res.StatusCode, after)
	}
	for _, s := range []*server{a, b, c} {
		if res, _, _ := call(t, "GET", s.url+"/api/me", cookie, nil); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("after logout: %d", res.StatusCode)
		}
	}
	// Nothing of the session is left; the login limiter's key (under the
	// prefix too) expires by itself within a minute.
	keys, err := rs.Client(t).Keys(context.Background(), prefix+"*").Result()
	limiterKey := prefix + "login:127.0.0.1"
	if err != nil || len(keys) != 1 || keys[0] != limiterKey {
		t.Fatalf("keys left: %v %v, want only %s", keys, err, limiterKey)
	}
	if ttl := rs.Client(t).PTTL(context.Background(), limiterKey).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("limiter key TTL %v, want (0, 1m]", ttl)
	}

	// The request log: one JSON line per request, with the fields.
	var line map[string]any
	for _, l := range strings.Split(b.logs.String(), "\n") {
		if strings.Contains(l, `"msg":"request"`) && strings.Contains(l, `"route":"/"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, k := range []string{"request_id", "replica", "route", "status", "latency_ms"} {
		if line[k] == nil {
			t.Fatalf("log line lacks %s: %v", k, line)
		}
	}
	if strings.Contains(a.logs.String()+b.logs.String()+c.logs.String(), cookie[:30]) {
		t.Fatal("a cookie is in the logs")
	}
}

// TestGracefulShutdown: /readyz turns 503 for SHUTDOWN_DELAY while the
// replica still serves, then run returns nil; healthcheck follows.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	s := startRun(t, "SESSION_DIR", t.TempDir(), "SHUTDOWN_DELAY", "600ms", "SHUTDOWN_TIMEOUT", "2s")
	addr := strings.TrimPrefix(s.url, "http://")
	if err := run(context.Background(), []string{"sessiond", "healthcheck"}, env("ADDR", addr), io.Discard, io.Discard); err != nil {
		t.Fatalf("healthcheck while up: %v", err)
	}
	if res, _, _ := call(t, "GET", s.url+"/readyz", "", nil); res.StatusCode != 200 {
		t.Fatalf("readyz: %d", res.StatusCode)
	}
	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- s.stop() }()
	time.Sleep(200 * time.Millisecond)
	res, _, _ := call(t, "GET", s.url+"/readyz", "", nil)
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz while draining: %d", res.StatusCode)
	}
	if res, _, _ := call(t, "GET", s.url+"/healthz", "", nil); res.StatusCode != 200 {
		t.Fatalf("healthz while draining: %d", res.StatusCode)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run: %v", err)
	}
	if d := time.Since(start); d < 600*time.Millisecond || d > 5*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	err := run(context.Background(), []string{"sessiond", "healthcheck"}, env("ADDR", addr), io.Discard, io.Discard)
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("healthcheck after stop: %v", err)
	}
	if !strings.Contains(s.logs.String(), `"msg":"stopped"`) {
		t.Fatalf("logs: %s", s.logs)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// A connection accepted before the drain ends but whose request arrives
// after it is answered, not dropped: net/http drops requests read once
// Shutdown has begun, and a balancer cannot resend a POST it already sent.
// New connections after the drain are refused, which a balancer retries.
func TestShutdownAnswersAcceptedConnections(t *testing.T) {
	t.Parallel()
	s := startRun(t, "SESSION_DIR", t.TempDir(), "SHUTDOWN_DELAY", "100ms", "SHUTDOWN_TIMEOUT", "3s")
	addr := strings.TrimPrefix(s.url, "http://")
	c, err := net.Dial("tcp", addr) // accepted, no request yet
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	time.Sleep(400 * time.Millisecond) // past SHUTDOWN_DELAY: the listener is closed
	if nc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		nc.Close()
		t.Error("a new connection was accepted after the drain")
	}
	fmt.Fprint(c, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\n\r\nname=ann")
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 303") {
		t.Fatalf("request on an accepted connection during shutdown: %q, %v", line, err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run: %v", err)
	}
}
