package http

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// routeCase is one route of the service and what its answers must carry.
type routeCase struct {
	method, path string
	form         []string
	// private: the answer depends on the session (Cache-Control: no-store,
	// Vary: Cookie).
	private bool
}

// everyRoute lists every registered route; TestHeadersEveryRoute fails
// when a route is added without a row here.
var everyRoute = []routeCase{
	{"GET", "/", nil, true},
	{"GET", "/login", nil, true},
	{"POST", "/login", []string{"name", "hdr"}, true},
	{"GET", "/logout", nil, true},
	{"POST", "/logout", nil, true},
	{"POST", "/theme", []string{"theme", "dark"}, true},
	{"POST", "/cart/add", []string{"item", "fig"}, true},
	{"POST", "/cart/remove", []string{"item", "fig"}, true},
	{"GET", "/sessions", nil, true},
	{"POST", "/sessions/revoke", []string{"id", "0123456789abcdef"}, true},
	{"POST", "/sessions/revoke-others", nil, true},
	{"POST", "/sessions/revoke-all", nil, true},
	{"GET", "/api/me", nil, true},
	{"GET", "/api/sessions", nil, true},
	{"GET", "/healthz", nil, false},
	{"HEAD", "/healthz", nil, false},
	{"GET", "/readyz", nil, false},
	{"HEAD", "/readyz", nil, false},
	{"GET", "/metrics", nil, false},
	{"GET", "/static/style.css", nil, false},
}

// inlineCode is what a CSP without 'unsafe-inline' would block in a page.
var inlineCode = regexp.MustCompile(`(?i)<script|<style|\sstyle=|\son[a-z]+=|javascript:`)

// TestHeadersEveryRoute: every route, signed in and not, over plain HTTP
// and over TLS, answers with the security headers; session answers are
// private; HSTS only over HTTPS; pages need no inline code.
func TestHeadersEveryRoute(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{})

	registered := map[string]bool{}
	for _, ri := range r.srv.Config.Handler.(*gin.Engine).Routes() {
		registered[ri.Method+" "+ri.Path] = true
	}
	for _, rc := range everyRoute {
		if !registered[rc.method+" "+rc.path] {
			t.Errorf("%s %s is in the table but not a route", rc.method, rc.path)
		}
		delete(registered, rc.method+" "+rc.path)
	}
	for k := range registered {
		t.Errorf("route %s has no row in everyRoute", k)
	}

	tlsSrv := httptest.NewTLSServer(r.srv.Config.Handler)
	t.Cleanup(tlsSrv.Close)
	for _, scheme := range []struct {
		name  string
		url   string
		https bool
	}{{"http", r.url, false}, {"https", tlsSrv.URL, true}} {
		for _, signedIn := range []bool{false, true} {
			for _, rc := range everyRoute {
				b := newBrowser(t)
				if scheme.https {
					b.client.Transport = tlsSrv.Client().Transport
				}
				if signedIn {
					b.login(&replica{url: scheme.url}, "hdr")
				}
				res := b.do(rc.method, scheme.url+rc.path, formOrNil(rc.form))
				where := scheme.name + " " + rc.method + " " + rc.path
				if signedIn {
					where += " (signed in)"
				}
				checkHeaders(t, where, res, rc.private, scheme.https)
			}
		}
	}

	// Error answers carry them too.
	b := newBrowser(t)
	b.login(r, "hdr")
	for name, res := range map[string]*response{
		"404":           b.get(r.url + "/nope"),
		"404 api":       b.get(r.url + "/api/nope"),
		"405":           b.do(http.MethodPut, r.url+"/login", nil),
		"400":           b.post(r.url+"/theme", "theme", "blue"),
		"403":           b.do(http.MethodPost, r.url+"/theme", form("theme", "dark"), func(q *http.Request) { q.Header.Set("Sec-Fetch-Site", "cross-site") }),
		"413":           b.post(r.url+"/cart/add", "item", strings.Repeat("x", MaxBody+1)),
		"401":           newBrowser(t).get(r.url + "/api/me"),
		"tampered":      func() *response { x := newBrowser(t); x.setCookie("garbage"); return x.get(r.url + "/") }(),
		"login refused": newBrowser(t).post(r.url+"/login", "name", ""),
	} {
		checkHeaders(t, name, res, false, false)
	}
}

func formOrNil(kv []string) map[string][]string {
	if kv == nil {
		return nil
	}
	return form(kv...)
}

func checkHeaders(t *testing.T, where string, res *response, private, https bool) {
	t.Helper()
	h := res.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %s", where, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP %q allows inline code", where, csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("%s: nosniff %q, Referrer-Policy %q, X-Frame-Options %q", where,
			h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"), h.Get("X-Frame-Options"))
	}
	if hsts := h.Get("Strict-Transport-Security"); https != (hsts != "") || https && !strings.HasPrefix(hsts, "max-age=") {
		t.Errorf("%s: HSTS %q over https=%v", where, hsts, https)
	}
	if h.Get("X-Replica") == "" || !validRequestID(h.Get("X-Request-ID")) {
		t.Errorf("%s: X-Replica %q, X-Request-ID %q", where, h.Get("X-Replica"), h.Get("X-Request-ID"))
	}
	if private && (h.Get("Cache-Control") != "no-store" || !strings.Contains(strings.Join(h.Values("Vary"), ","), "Cookie")) {
		t.Errorf("%s: Cache-Control %q, Vary %q", where, h.Get("Cache-Control"), h.Values("Vary"))
	}
	if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		if m := inlineCode.FindString(res.text); m != "" {
			t.Errorf("%s: the page has inline code %q, which the CSP blocks", where, m)
		}
	}
}
