package lbconfig

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// backend is a stand-in replica that counts what it served.
type backend struct {
	id   string
	srv  *httptest.Server
	mu   sync.Mutex
	hits int
	last http.Header
	host string
	code int // answer with this status (0: 200)
}

func newBackend(tb testing.TB, id string) *backend {
	b := &backend{id: id}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.hits++
		b.last = r.Header.Clone()
		b.host = r.Host
		code := b.code
		b.mu.Unlock()
		w.Header().Set("X-Replica", id)
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		if code != 0 {
			w.WriteHeader(code)
		}
		io.WriteString(w, id)
	}))
	tb.Cleanup(b.srv.Close)
	return b
}

func (b *backend) addr() string { return strings.TrimPrefix(b.srv.URL, "http://") }

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits
}

// refusedAddr is a loopback address where nothing listens: a replica whose
// listener is closed (draining, or killed).
func refusedAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startNginx runs nginx in the foreground on the loopback rendering and
// returns its base URL; it is stopped by PID when the test ends.
func startNginx(tb testing.TB, servers []string) string {
	tb.Helper()
	base, _ := startNginxIn(tb, servers)
	return base
}

// startNginxIn is startNginx, also returning nginx's folder (error.log).
func startNginxIn(tb testing.TB, servers []string) (string, string) {
	tb.Helper()
	nginx := mustNginx(tb)
	dir := tb.TempDir()
	listen := refusedAddr(tb)
	conf := writeConf(tb, dir, Loopback(dir, listen, servers))
	cmd := exec.Command(nginx, "-p", dir, "-c", conf, "-e", "stderr", "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start nginx: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if tb.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "error.log")); err == nil {
				tb.Logf("nginx error.log:\n%s", b)
			}
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", listen, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return "http://" + listen, dir
		}
		select {
		case werr := <-exited:
			exited <- werr // for the cleanup
			tb.Fatalf("nginx exited at start: %v", werr)
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("nginx did not listen on %s within 5s: %v", listen, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func send(tb testing.TB, method, u string) (*http.Response, string) {
	tb.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(url.Values{"item": {"apple"}}.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestNginxBalancesRoundRobin: every replica gets its share, without
// affinity, and sees the forwarding headers.
func TestNginxBalancesRoundRobin(t *testing.T) {
	bs := []*backend{newBackend(t, "r1"), newBackend(t, "r2"), newBackend(t, "r3")}
	base := startNginx(t, []string{bs[0].addr(), bs[1].addr(), bs[2].addr()})

	const n = 30
	for range n {
		if resp, body := send(t, http.MethodGet, base+"/"); resp.StatusCode != 200 {
			t.Fatalf("GET / = %d %q", resp.StatusCode, body)
		}
	}
	for _, b := range bs {
		if got := b.count(); got < n/len(bs)-2 {
			t.Errorf("replica %s served %d of %d requests: not round-robin", b.id, got, n)
		}
	}

	b := bs[0]
	b.mu.Lock()
	defer b.mu.Unlock()
	if xff := b.last.Get("X-Forwarded-For"); xff != "127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q, want 127.0.0.1", xff)
	}
	if p := b.last.Get("X-Forwarded-Proto"); p != "http" {
		t.Errorf("X-Forwarded-Proto = %q, want http", p)
	}
	if rid := b.last.Get("X-Request-ID"); len(rid) != 32 {
		t.Errorf("X-Request-ID = %q, want nginx's 32 hex digits", rid)
	}
	if want := strings.TrimPrefix(base, "http://"); b.host != want {
		t.Errorf("Host = %q, want the client's %q (port kept)", b.host, want)
	}
	if c := b.last.Get("Connection"); c != "" && !strings.EqualFold(c, "close") {
		t.Errorf("Connection = %q: upstream keepalive would hide a draining replica", c)
	}
}

// TestNginxSetsTheClientAddress: the balancer is the edge, so the replica
// must learn the client's address from it alone: X-Forwarded-For and
// X-Real-IP are replaced by the address nginx saw, whatever the client
// sent (a replica that trusts the balancer would otherwise believe the
// client's own words).
func TestNginxSetsTheClientAddress(t *testing.T) {
	b := newBackend(t, "r1")
	base := startNginx(t, []string{b.addr()})
	for i, forged := range []http.Header{
		{"X-Forwarded-For": {"203.0.113.9"}},
		{"X-Forwarded-For": {"203.0.113.9, 198.51.100.1"}, "X-Real-Ip": {"198.51.100.2"}},
		{"X-Forwarded-For": {"203.0.113.9", "2001:db8::1"}},
		{"X-Real-Ip": {"203.0.113.10"}},
	} {
		req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
		for k, vs := range forged {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		b.mu.Lock()
		xff, realIP := b.last.Values("X-Forwarded-For"), b.last.Values("X-Real-Ip")
		b.mu.Unlock()
		if len(xff) != 1 || xff[0] != "127.0.0.1" || len(realIP) != 1 || realIP[0] != "127.0.0.1" {
			t.Errorf("request %d forged %v: replica got X-Forwarded-For %q, X-Real-IP %q; want only the client's 127.0.0.1 in each",
				i, forged, xff, realIP)
		}
	}
}

// TestNginxRetriesRefusedReplica: a replica that refuses connections
// (draining or dead) costs no request, POST included.
func TestNginxRetriesRefusedReplica(t *testing.T) {
	bs := []*backend{newBackend(t, "r1"), newBackend(t, "r2")}
	base := startNginx(t, []string{bs[0].addr(), refusedAddr(t), bs[1].addr()})

	for i := range 30 {
		method := http.MethodGet
		if i%2 == 1 {
			method = http.MethodPost
		}
		if resp, body := send(t, method, base+"/cart/add"); resp.StatusCode != 200 {
			t.Fatalf("%s #%d = %d %q, want 200 from a live replica", method, i, resp.StatusCode, body)
		}
	}
	if bs[0].count() == 0 || bs[1].count() == 0 {
		t.Errorf("live replicas served %d and %d: want both used", bs[0].count(), bs[1].count())
	}
}

// TestNginxPassesReplica503: when the shared store is down every replica
// answers 503 + Retry-After; the client must see exactly that, from one try
// (no retry storm, no replica marked failed, no 502 from nginx).
func TestNginxPassesReplica503(t *testing.T) {
	bs := []*backend{newBackend(t, "r1"), newBackend(t, "r2"), newBackend(t, "r3")}
	for _, b := range bs {
		b.code = http.StatusServiceUnavailable
	}
	base := startNginx(t, []string{bs[0].addr(), bs[1].addr(), bs[2].addr()})

	const n = 20
	for i := range n {
		resp, body := send(t, http.MethodGet, base+"/")
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("GET #%d = %d (Retry-After %q) %q, want the replica's 503 with Retry-After",
				i, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	total := 0
	for _, b := range bs {
		total += b.count()
	}
	if total != n {
		t.Errorf("replicas got %d requests for %d client requests: 503 must not be retried", total, n)
	}
}

func Example_loopback() {
	p := Loopback("/tmp/lb", "127.0.0.1:18004", []string{"127.0.0.1:18001", "127.0.0.1:18002"})
	fmt.Println(p.Listen, p.Servers, p.Resolve)
	// Output: 127.0.0.1:18004 [127.0.0.1:18001 127.0.0.1:18002] false
}
