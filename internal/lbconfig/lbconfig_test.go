package lbconfig

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRenderRejectsBadParams(t *testing.T) {
	good := Loopback("/tmp/x", "127.0.0.1:1", []string{"127.0.0.1:2"})
	tests := []struct {
		name string
		edit func(*Params)
		want string
	}{
		{"no listen", func(p *Params) { p.Listen = "" }, "Listen is required"},
		{"no servers", func(p *Params) { p.Servers = nil }, "at least one server"},
		{"empty server", func(p *Params) { p.Servers = []string{""} }, "Servers[0] is required"},
		{"injected directive", func(p *Params) { p.Servers = []string{"a:1; server evil:1"} }, "not one nginx token"},
		{"brace", func(p *Params) { p.Listen = "80 }" }, "not one nginx token"},
		{"resolve without resolver", func(p *Params) { p.Resolve = true }, "Resolver is required"},
		{"no pid file", func(p *Params) { p.PidFile = "" }, "PidFile is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good
			p.Servers = slices.Clone(good.Servers)
			tt.edit(&p)
			err := Render(&bytes.Buffer{}, p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Render error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if err := Render(&bytes.Buffer{}, good); err != nil {
		t.Fatalf("Render(good) = %v", err)
	}
}

// TestComposeRendering checks, structurally, the rendering that only nginx
// 1.27+ can parse (Debian's 1.22 has no `resolve`).
func TestComposeRendering(t *testing.T) {
	conf := mustParse(t, ComposeParams())

	http := conf.block(t, "http")
	// A removed replica's address is kept at most 1s (it was 5s).
	got := http.args("resolver")
	valid := -1 * time.Second
	if len(got) == 1 {
		for _, a := range got[0] {
			if v, ok := strings.CutPrefix(a, "valid="); ok {
				valid = nginxTime(t, v)
			}
		}
	}
	if len(got) != 1 || got[0][0] != "127.0.0.11" || valid <= 0 || valid > time.Second {
		t.Errorf("resolver = %v, want Docker's DNS 127.0.0.11 with valid= at most 1s", got)
	}
	up := http.block(t, "upstream")
	if len(up.args("zone")) != 1 {
		t.Error("upstream has no zone (resolve needs one, and workers must share round-robin state)")
	}
	servers := up.args("server")
	if len(servers) != 1 || servers[0][0] != "app:8004" || !slices.Contains(servers[0], "resolve") {
		t.Errorf("upstream servers = %v, want one `app:8004 resolve`", servers)
	}
	checkBalancing(t, http, up)
}

// checkBalancing holds for both renderings: round-robin without affinity,
// no upstream keepalive, safe retries.
func checkBalancing(t *testing.T, http, up *block) {
	t.Helper()
	for _, d := range []string{"keepalive", "ip_hash", "hash", "sticky", "least_conn", "random"} {
		if len(up.args(d)) > 0 {
			t.Errorf("upstream has %q: want plain round-robin, no keepalive", d)
		}
	}
	loc := http.block(t, "server").block(t, "location")
	nu := loc.args("proxy_next_upstream")
	if len(nu) != 1 {
		t.Fatalf("proxy_next_upstream = %v, want one", nu)
	}
	for _, want := range []string{"error", "timeout"} {
		if !slices.Contains(nu[0], want) {
			t.Errorf("proxy_next_upstream %v lacks %q", nu[0], want)
		}
	}
	for _, bad := range []string{"non_idempotent", "http_503", "http_500"} {
		if slices.Contains(nu[0], bad) {
			t.Errorf("proxy_next_upstream %v has %q", nu[0], bad)
		}
	}
	// Every replica may be tried (no cap below their number), within a
	// bound for the whole search; an address with no answer costs at most
	// 500ms.
	if got := loc.args("proxy_next_upstream_tries"); len(got) != 1 || got[0][0] != "0" {
		t.Errorf("proxy_next_upstream_tries = %v, want 0 (each replica once)", got)
	}
	if got := loc.args("proxy_next_upstream_timeout"); len(got) != 1 || nginxTime(t, got[0][0]) <= 0 {
		t.Errorf("proxy_next_upstream_timeout = %v, want a bound", got)
	}
	if got := loc.args("proxy_connect_timeout"); len(got) != 1 || nginxTime(t, got[0][0]) > 500*time.Millisecond {
		t.Errorf("proxy_connect_timeout = %v, want at most 500ms", got)
	}
	headers := map[string]string{}
	for _, a := range loc.args("proxy_set_header") {
		headers[a[0]] = a[1]
	}
	// The balancer is the edge: it sets the client address, it does not
	// append to what the client sent.
	for h, want := range map[string]string{
		"X-Forwarded-For":   "$remote_addr",
		"X-Real-IP":         "$remote_addr",
		"X-Forwarded-Proto": "$scheme",
	} {
		if headers[h] != want {
			t.Errorf("proxy_set_header %s = %q, want %q", h, headers[h], want)
		}
	}
}

func TestLoopbackRendering(t *testing.T) {
	dir := t.TempDir()
	conf := mustParse(t, Loopback(dir, "127.0.0.1:1", []string{"127.0.0.1:2", "127.0.0.1:3"}))
	http := conf.block(t, "http")
	if len(http.args("resolver")) != 0 {
		t.Error("loopback rendering has a resolver")
	}
	up := http.block(t, "upstream")
	if got := up.args("server"); len(got) != 2 || slices.Contains(got[0], "resolve") {
		t.Errorf("upstream servers = %v, want two without resolve", got)
	}
	if len(conf.args("daemon")) != 0 {
		t.Error("template sets `daemon`: tests pass -g 'daemon off;', which would then be a duplicate")
	}
	checkBalancing(t, http, up)
}

// TestNginxAcceptsLoopbackRendering runs the balancer's own checker on the
// rendering the tests run.
func TestNginxAcceptsLoopbackRendering(t *testing.T) {
	nginx := mustNginx(t)
	dir := t.TempDir()
	conf := writeConf(t, dir, Loopback(dir, "127.0.0.1:18004", []string{"127.0.0.1:18005", "127.0.0.1:18006"}))
	out, err := exec.Command(nginx, "-t", "-q", "-p", dir, "-c", conf, "-e", "stderr").CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t rejected the loopback rendering: %v\n%s", err, out)
	}
}

func mustNginx(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs nginx: run make test")
	}
	p, err := NginxBinary()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func writeConf(tb testing.TB, dir string, p Params) string {
	tb.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, p); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func mustParse(tb testing.TB, p Params) *block {
	tb.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, p); err != nil {
		tb.Fatal(err)
	}
	b, err := parseConf(buf.String())
	if err != nil {
		tb.Fatalf("parse rendering: %v\n%s", err, buf.String())
	}
	return b
}

// nginxTime reads an nginx time such as 500ms, 1s or 2m (one unit).
func nginxTime(tb testing.TB, v string) time.Duration {
	tb.Helper()
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			if i, err := strconv.Atoi(n); err == nil {
				return time.Duration(i) * u.unit
			}
		}
	}
	tb.Fatalf("%q is not an nginx time this test reads (500ms, 1s, 2m)", v)
	return 0
}
