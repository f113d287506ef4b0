package http

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/http/input"
)

func TestParseName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Alice", "Alice", true},
		{"  Bob  ", "Bob", true},
		{"\tCarol\n", "Carol", true},
		{"Zoë Ωmega 李", "Zoë Ωmega 李", true},
		{"👩‍💻 dev", "👩‍💻 dev", true},
		{strings.Repeat("x", 64), strings.Repeat("x", 64), true},
		{strings.Repeat("é", 64), strings.Repeat("é", 64), true}, // 64 characters, 128 bytes
		{strings.Repeat("x", 65), "", false},
		{"", "", false},
		{"   ", "", false},
		{"a\x00b", "", false},
		{"a\nb", "", false},
		{"a\tb", "", false},
		{"a\x7fb", "", false},
		{"a\u0085b", "", false}, // C1 control
		{"\xff\xfe", "", false}, // not UTF-8
		{"ok\xc3", "", false},   // truncated UTF-8
	} {
		got, err := parseName(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseName(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseItem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"apple", true},
		{" green tea ", true},
		{strings.Repeat("x", 40), true},
		{strings.Repeat("李", 40), true}, // 120 bytes
		{strings.Repeat("x", 41), false},
		{strings.Repeat("😀", 31), false}, // 31 characters but 124 bytes
		{"", false},
		{"a\nb", false},
		{"\xff", false},
	} {
		if _, err := parseItem(tc.in); (err == nil) != tc.ok {
			t.Errorf("parseItem(%q): err=%v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestParseQty(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 1, true}, {"1", 1, true}, {" 7 ", 7, true}, {"99", 99, true}, {"099", 99, true},
		{"0", 0, false}, {"100", 0, false}, {"-1", 0, false}, {"+1", 0, false}, {"1.5", 0, false},
		{"1e1", 0, false}, {"abc", 0, false}, {"0x10", 0, false}, {"٣", 0, false}, {"99999999999999999999", 0, false},
	} {
		got, err := parseQty(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseQty(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseThemeAndSessionID(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{"light": true, "dark": true, "Dark": false, "": false, "blue": false, " dark": false} {
		if _, err := parseTheme(in); (err == nil) != ok {
			t.Errorf("parseTheme(%q): err=%v, want ok=%v", in, err, ok)
		}
	}
	for in, ok := range map[string]bool{
		"0123456789abcdef": true, "0123456789ABCDEF": false, "0123456789abcde": false,
		"0123456789abcdefa": false, "0123456789abcdeg": false, "": false,
	} {
		if _, err := parseSessionID(in); (err == nil) != ok {
			t.Errorf("parseSessionID(%q): err=%v, want ok=%v", in, err, ok)
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
