package http

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/http/input"
)

func TestSessionIDRule(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{
		"0123456789abcdef": true, "0123456789ABCDEF": false, "0123456789abcde": false,
		"0123456789abcdefa": false, "0123456789abcdeg": false, "": false,
	} {
		if _, err := sessionID(in); (err == nil) != ok {
			t.Errorf("sessionID(%q): err=%v, want ok=%v", in, err, ok)
		}
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	ids := input.NewRequestIDs()
	seen := map[string]bool{}
	for range 1000 {
		id := ids.Get("")
		if seen[id] || !validRequestID(id) {
			t.Fatalf("generated id %q repeated or invalid", id)
		}
		seen[id] = true
	}
	if other := input.NewRequestIDs().Get(""); seen[other] {
		t.Error("two generators (replicas) made the same id")
	}
	for in, kept := range map[string]bool{
		"abc-123_X.y": true, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false,
		"": false, "a b": false, "a/b": false, "é": false, "a\nb": false,
	} {
		got := ids.Get(in)
		if (got == in) != kept || !validRequestID(got) {
			t.Errorf("Get(%q) = %q; kept=%v", in, got, kept)
		}
	}
}

func TestIsHTTPS(t *testing.T) {
	t.Parallel()
	p := NewProxies([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")})
	for _, tc := range []struct {
		remote, proto string
		tls           bool
		want          bool
	}{
		{"10.1.2.3:5000", "https", false, true},
		{"10.1.2.3:5000", "HTTPS, http", false, true},
		{"10.1.2.3:5000", "http", false, false},
		{"[::1]:5000", "https", false, true},
		{"[::ffff:10.0.0.1]:5000", "https", false, true},
		{"192.168.1.1:5000", "https", false, false}, // not a trusted proxy
		{"192.168.1.1:5000", "", true, true},        // TLS directly
		{"10.1.2.3:5000", "", false, false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := p.IsHTTPS(r); got != tc.want {
			t.Errorf("IsHTTPS(remote %s, proto %q, tls %v) = %v, want %v", tc.remote, tc.proto, tc.tls, got, tc.want)
		}
	}
	if (Proxies{}).IsHTTPS(httptest.NewRequest("GET", "/", nil)) {
		t.Error("zero Proxies trusted a plain request")
	}
}
