package main

import (
	"bufio"
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
	logs *procs.SyncBuffer
	stop func() error // cancels run's context and returns its error
}

func startRun(t *testing.T, kv ...string) *server {
	t.Helper()
	port := redistest.FreePort(t)
	kv = append(kv, "ADDR", fmt.Sprintf("127.0.0.1:%d", port))
	ctx, cancel := context.WithCancel(context.Background())
	logs := &procs.SyncBuffer{}
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
	s.waitLog(t, `"msg":"listening"`)
	return s
}

// waitLog waits until s's log holds want and returns the log. The log
// leaves through a write-behind buffer (internal/logbuf), so a line may
// trail the response it is about by a moment; a check of what the log
// lacks reads it after a line that comes later, or after s.stop.
func (s *server) waitLog(t *testing.T, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		logs := s.logs.String()
		if strings.Contains(logs, want) {
			return logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log lacks %s after 10s:\n%s", want, logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
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
	for _, s := range []*server{a, b, c} {
		if err := s.stop(); err != nil { // the log written out
			t.Fatal(err)
		}
	}
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
// replica still serves (/healthz 200), then the listener closes and run
// returns nil; healthcheck follows.
//
// Judged from each request's own start and end, not from sleeps: the
// drain begins after stop is called and after the last /readyz that
// answered 200 began; the listener closes SHUTDOWN_DELAY after the drain
// began. So a request that ends before (that lower bound + the delay) was
// served by an open listener. A run in which the machine was too slow for
// any request to prove anything is done again (at most 3 times).
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	for try := 1; ; try++ {
		if gracefulShutdownRun(t) {
			return
		}
		if try == 3 {
			t.Fatal("machine too loaded to judge the drain in 3 runs")
		}
		t.Logf("run %d proved nothing (too slow a machine): again", try)
	}
}

// probeResult is one request of a shutdown test.
type probeResult struct {
	start, end time.Time
	status     int   // 0 when no answer came
	err        error // the listener was closed (or no answer came)
}

// probeOnce sends GET u on a connection of its own.
func probeOnce(u string) probeResult {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	p := probeResult{start: time.Now()}
	res, err := c.Get(u)
	if err == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		p.status = res.StatusCode
	}
	p.end, p.err = time.Now(), err
	return p
}

func gracefulShutdownRun(t *testing.T) bool {
	const delay = 600 * time.Millisecond
	s := startRun(t, "SESSION_DIR", t.TempDir(), "SHUTDOWN_DELAY", delay.String(), "SHUTDOWN_TIMEOUT", "2s")
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

	// Poll /readyz until the listener refuses; after the first 503, ask
	// /healthz once.
	drainAfter := start // a lower bound of when the drain began
	var first503 *probeResult
	var health probeResult
	var closed probeResult
	for deadline := time.Now().Add(10 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepted connections 10s after the shutdown began")
		}
		p := probeOnce(s.url + "/readyz")
		if p.err != nil {
			closed = p
			break
		}
		switch {
		case p.status == http.StatusOK && first503 == nil:
			drainAfter = p.start // answered 200: not draining when it began
		case p.status == http.StatusServiceUnavailable:
			if first503 == nil {
				first503 = &p
				health = probeOnce(s.url + "/healthz")
			}
		default:
			t.Fatalf("readyz during shutdown: %d (after a 503: %v)", p.status, first503 != nil)
		}
	}
	// The listener closed no earlier than this; what ended before was
	// served by an open listener.
	openUntil := drainAfter.Add(delay)
	if err := <-stopped; err != nil {
		t.Fatalf("run: %v", err)
	}
	if d := time.Since(start); d < delay || d > 5*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	switch {
	case first503 == nil && closed.end.Before(openUntil):
		t.Fatalf("the listener closed %v after the drain could have begun, before SHUTDOWN_DELAY %v, and /readyz never answered 503",
			closed.end.Sub(drainAfter), delay)
	case first503 == nil:
		return false // no /readyz landed in the drain: proves nothing
	case health.err == nil && health.status != http.StatusOK:
		t.Fatalf("healthz while draining: %d", health.status)
	case health.err != nil && health.end.Before(openUntil):
		t.Fatalf("healthz while draining, %v after the drain could have begun: %v", health.end.Sub(drainAfter), health.err)
	case health.err != nil:
		return false // the listener closed before /healthz got there
	}
	err := run(context.Background(), []string{"sessiond", "healthcheck"}, env("ADDR", addr), io.Discard, io.Discard)
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("healthcheck after stop: %v", err)
	}
	if !strings.Contains(s.logs.String(), `"msg":"stopped"`) {
		t.Fatalf("logs: %s", s.logs)
	}
	return true
}

// A connection accepted before the drain ends but whose request arrives
// after it is answered, not dropped: net/http drops requests read once
// Shutdown has begun, and a balancer cannot resend a POST it already sent.
// New connections after the drain are refused, which a balancer retries.
//
// Judged from events, not sleeps: the connection is known to be accepted
// (a connection dialled after it was served, and the server accepts in
// order); the request is sent once a new connection is refused, which is
// no earlier than SHUTDOWN_DELAY after the shutdown began.
func TestShutdownAnswersAcceptedConnections(t *testing.T) {
	t.Parallel()
	const delay = 100 * time.Millisecond
	// A long SHUTDOWN_TIMEOUT: the request below must reach the server
	// before it gives up on the idle connection, however slow the machine.
	s := startRun(t, "SESSION_DIR", t.TempDir(), "SHUTDOWN_DELAY", delay.String(), "SHUTDOWN_TIMEOUT", "15s")
	addr := strings.TrimPrefix(s.url, "http://")
	c, err := net.Dial("tcp", addr) // to be accepted, no request yet
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The server accepts connections one by one, in the order they came:
	// once a later connection is served, c was accepted.
	if p := probeOnce(s.url + "/healthz"); p.err != nil || p.status != http.StatusOK {
		t.Fatalf("healthz: %d %v", p.status, p.err)
	}
	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- s.stop() }()
	var refusedAt time.Time
	for deadline := time.Now().Add(10 * time.Second); refusedAt.IsZero(); {
		if time.Now().After(deadline) {
			t.Fatal("new connections were still accepted 10s after the shutdown began")
		}
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			refusedAt = time.Now()
			break
		}
		nc.Close()
		time.Sleep(5 * time.Millisecond)
	}
	if d := refusedAt.Sub(start); d < delay {
		t.Errorf("a new connection was refused %v after the shutdown began, before SHUTDOWN_DELAY %v", d, delay)
	}
	fmt.Fprint(c, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\n\r\nname=ann")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 303") {
		t.Fatalf("request on an accepted connection during shutdown: %q, %v", line, err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run: %v", err)
	}
}
