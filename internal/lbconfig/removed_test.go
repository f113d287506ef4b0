package lbconfig

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// unreachableAddr is a loopback address whose connections never complete:
// a listener that never accepts, its accept queue filled, so the kernel
// drops every further SYN. To nginx it looks like a removed replica's
// address on a Docker network (no answer at all, until the connect
// timeout), unlike refusedAddr's instant "connection refused".
func unreachableAddr(tb testing.TB) string {
	tb.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		tb.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		tb.Fatal(err)
	}
	addr := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}).String()
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr // the queue is full: this connect got no answer
		}
		tb.Cleanup(func() { c.Close() })
	}
	tb.Fatalf("%s still completes connections: cannot make an unreachable address", addr)
	return ""
}

// TestNginxSkipsUnreachableReplicaQuickly: a request that meets a removed
// replica's address (no answer to the connect) is retried on a live one
// within the connect timeout, not after 2s: every request, judged from its
// own start, is answered 200 within 1.5s, and nginx did meet the address.
func TestNginxSkipsUnreachableReplicaQuickly(t *testing.T) {
	live := newBackend(t, "live")
	dead := unreachableAddr(t)
	base, dir := startNginxIn(t, []string{dead, live.addr()})
	var slowest time.Duration
	for i := range 6 {
		method := http.MethodGet
		if i%2 == 1 {
			method = http.MethodPost // not sent yet when the connect fails: retried too
		}
		start := time.Now()
		resp, body := send(t, method, base+"/")
		took := time.Since(start)
		slowest = max(slowest, took)
		if resp.StatusCode != http.StatusOK || took > 1500*time.Millisecond {
			t.Errorf("%s #%d = %d %q after %v, want 200 within 1.5s", method, i, resp.StatusCode, body, took.Round(time.Millisecond))
		}
	}
	t.Logf("slowest of 6 requests: %v", slowest.Round(time.Millisecond))
	if log := readErrorLog(t, dir); !strings.Contains(log, "while connecting to upstream") || !strings.Contains(log, dead) {
		t.Errorf("nginx never tried the unreachable address %s; error.log:\n%s", dead, log)
	}
}

// TestNginxRidesOutManyRemovedReplicas: with four of six replicas gone at
// once (three refusing, one unreachable), listed first so the first
// requests meet them all, every request still reaches a live replica: no
// 502 from a cap on tries.
func TestNginxRidesOutManyRemovedReplicas(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	servers := []string{refusedAddr(t), refusedAddr(t), unreachableAddr(t), refusedAddr(t), a.addr(), b.addr()}
	base, _ := startNginxIn(t, servers)
	for i := range 12 {
		method := http.MethodGet
		if i%3 == 2 {
			method = http.MethodPost
		}
		if resp, body := send(t, method, base+"/"); resp.StatusCode != http.StatusOK {
			t.Errorf("%s #%d = %d %q, want 200 from a live replica", method, i, resp.StatusCode, body)
		}
	}
}

func readErrorLog(tb testing.TB, dir string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "error.log"))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
