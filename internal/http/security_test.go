package http

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestFixation: no cookie the browser came with survives a login.
func TestFixation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{})

	// An attacker-chosen value is not adopted.
	attacker := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	b := newBrowser(t)
	b.setCookie(attacker)
	b.login(r, "judy")
	if b.cookieValue() == attacker {
		t.Fatal("login kept the attacker's cookie")
	}
	victim := newBrowser(t)
	victim.setCookie(attacker)
	expect(t, victim.get(r.url+"/api/me"), http.StatusUnauthorized)

	// A real session's cookie dies when it logs in again, and the new one
	// names a new session holding the same data.
	expect(t, b.post(r.url+"/cart/add", "item", "kiwi"), http.StatusSeeOther)
	before := b.cookieValue()
	b.login(r, "judy")
	after := b.cookieValue()
	if after == before {
		t.Fatal("login kept the session id")
	}
	if m := getMe(t, b, r); m.Cart["kiwi"] != 1 {
		t.Fatalf("data lost at login: %+v", m)
	}
	old := newBrowser(t)
	old.setCookie(before)
	expect(t, old.get(r.url+"/api/me"), http.StatusUnauthorized)
	if n := len(w.sessionKeys()); n != 1 {
		t.Fatalf("%d stored sessions, want 1", n)
	}

	// A logged-out session's cookie (validly signed, but naming nothing)
	// is not adopted either.
	expect(t, b.post(r.url+"/logout"), http.StatusSeeOther)
	b.setCookie(after)
	b.login(r, "mallory")
	if b.cookieValue() == after {
		t.Fatal("login adopted a dead session's id")
	}
	old.setCookie(after)
	expect(t, old.get(r.url+"/api/me"), http.StatusUnauthorized)
}

// TestTamperedCookie: any change to the cookie is no session. A cookie
// that is not a token at all is expired; one that is well-formed but signed
// by no key of this replica (tampered with, or signed with a key this
// replica lacks: a replica started with a wrong SESSION_SECRET) is left
// alone, since deleting it would log its owner out on every replica.
func TestTamperedCookie(t *testing.T) {
	t.Parallel()
	r := newWorld(t).replica("r1", options{})
	b := newBrowser(t)
	b.login(r, "kim")
	good := b.cookieValue()
	for name, tc := range map[string]struct {
		v       string
		expired bool
	}{
		"flipped payload":   {flip(good, 5), false},
		"flipped signature": {flip(good, len(good)-3), false},
		"no signature":      {good[:strings.IndexByte(good, '.')], true},
		"truncated":         {good[:len(good)-1], true},
		"garbage":           {"not-a-token", true},
	} {
		t.Run(name, func(t *testing.T) {
			tb := newBrowser(t)
			tb.setCookie(tc.v)
			res := tb.get(r.url + "/")
			expect(t, res, http.StatusSeeOther)
			if res.Header.Get("Location") != "/login" {
				t.Fatalf("tampered cookie: %s", res.Header.Get("Location"))
			}
			if set := res.Header.Get("Set-Cookie"); tc.expired != strings.Contains(set, "Max-Age=0") || !tc.expired && set != "" {
				t.Fatalf("tampered cookie: Set-Cookie %q, want it expired: %v", set, tc.expired)
			}
		})
	}
	expect(t, b.get(r.url+"/api/me"), http.StatusOK)
}

func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// TestKeyRotation: a new key first keeps sessions; dropping the old key
// ends them cleanly.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	newKey := []byte("fedcba9876543210fedcba9876543210-new-key")
	oldOnly := w.replica("old", options{keys: [][]byte{testKey}})
	rotated := w.replica("rotated", options{keys: [][]byte{newKey, testKey}})
	newOnly := w.replica("new", options{keys: [][]byte{newKey}})

	b := newBrowser(t)
	b.login(oldOnly, "lena")
	signedOld := b.cookieValue()
	expect(t, b.get(rotated.url+"/api/me"), http.StatusOK)
	if b.cookieValue() == signedOld {
		t.Fatal("a cookie signed by an old key was not re-signed")
	}
	expect(t, b.get(newOnly.url+"/api/me"), http.StatusOK)

	c := newBrowser(t)
	c.login(oldOnly, "lena")
	expect(t, c.get(newOnly.url+"/api/me"), http.StatusUnauthorized)
	expect(t, c.get(newOnly.url+"/"), http.StatusSeeOther)
}

func TestCookieFlags(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, tc := range []struct {
		name      string
		permanent bool
	}{{"browser session", false}, {"permanent", true}} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.replica(tc.name, options{permanent: tc.permanent, lifetime: 2 * time.Hour})
			res := newBrowser(t).post(r.url+"/login", "name", "mona")
			var c *http.Cookie
			for _, k := range res.Cookies() {
				if k.Name == CookieName {
					c = k
				}
			}
			if c == nil {
				t.Fatal("no session cookie")
			}
			raw := res.Header.Get("Set-Cookie")
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
				t.Fatalf("cookie flags: %q", raw)
			}
			if tc.permanent {
				if c.MaxAge < 7100 || c.MaxAge > 7200 {
					t.Fatalf("permanent cookie Max-Age %d, want about 7200: %q", c.MaxAge, raw)
				}
			} else if c.MaxAge != 0 || strings.Contains(raw, "Expires") {
				t.Fatalf("browser-session cookie has an expiry: %q", raw)
			}
		})
	}
}

// TestSecureBehindProxy: Secure cookie and HSTS only for HTTPS per a
// trusted proxy.
func TestSecureBehindProxy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	trusting := w.replica("trusting", options{proxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	distrusting := w.replica("distrusting", options{})
	https := func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "https") }

	res := newBrowser(t).do(http.MethodPost, trusting.url+"/login", form("name", "nina"), https)
	if !strings.Contains(res.Header.Get("Set-Cookie"), "Secure") || res.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("behind a trusted proxy: Set-Cookie %q, HSTS %q", res.Header.Get("Set-Cookie"), res.Header.Get("Strict-Transport-Security"))
	}
	res = newBrowser(t).do(http.MethodPost, distrusting.url+"/login", form("name", "nina"), https)
	if strings.Contains(res.Header.Get("Set-Cookie"), "Secure") || res.Header.Get("Strict-Transport-Security") != "" {
		t.Fatalf("untrusted X-Forwarded-Proto believed: Set-Cookie %q", res.Header.Get("Set-Cookie"))
	}
}

func TestCrossOrigin(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{})
	b := newBrowser(t)
	b.login(r, "oscar")
	before := w.stats()
	for name, edit := range map[string]func(*http.Request){
		"sec-fetch-site cross-site": func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") },
		"sec-fetch-site same-site":  func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-site") },
		"foreign origin":            func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") },
	} {
		for _, path := range []string{"/theme", "/cart/add", "/logout", "/login", "/sessions/revoke-all"} {
			res := b.do(http.MethodPost, r.url+path, form("theme", "dark", "item", "x", "name", "eve"), edit)
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", name, path, res.StatusCode)
			}
		}
	}
	if got := writes(redistestDiff(before, w.stats())); len(got) != 0 {
		t.Fatalf("cross-origin requests wrote to the store: %v", got)
	}
	// Same origin and header-less programs pass.
	res := b.do(http.MethodPost, r.url+"/theme", form("theme", "dark"), func(q *http.Request) {
		q.Header.Set("Sec-Fetch-Site", "same-origin")
		q.Header.Set("Origin", r.url)
	})
	expect(t, res, http.StatusSeeOther)
	expect(t, b.post(r.url+"/cart/add", "item", "x"), http.StatusSeeOther)
	if m := getMe(t, b, r); m.Theme != "dark" || m.Cart["x"] != 1 {
		t.Fatalf("after allowed posts: %+v", m)
	}
}

func TestHeadersAndLogs(t *testing.T) {
	t.Parallel()
	r := newWorld(t).replica("r1", options{})
	b := newBrowser(t)
	b.login(r, "pat")
	for _, path := range []string{"/", "/login", "/sessions", "/api/me", "/nope", "/healthz", "/static/style.css"} {
		res := b.get(r.url + path)
		h := res.Header
		if h.Get("X-Replica") != "r1" || !validRequestID(h.Get("X-Request-ID")) {
			t.Errorf("%s: X-Replica %q, X-Request-ID %q", path, h.Get("X-Replica"), h.Get("X-Request-ID"))
		}
		if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || strings.Contains(h.Get("Content-Security-Policy"), "unsafe-inline") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: security headers %v", path, h)
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS over plain HTTP", path)
		}
	}
	for _, path := range []string{"/", "/login", "/sessions", "/api/me", "/api/sessions"} {
		h := b.get(r.url + path).Header
		if h.Get("Cache-Control") != "no-store" || h.Get("Vary") != "Cookie" {
			t.Errorf("%s: Cache-Control %q, Vary %q", path, h.Get("Cache-Control"), h.Get("Vary"))
		}
	}

	res := b.do(http.MethodGet, r.url+"/api/me", nil, func(q *http.Request) { q.Header.Set("X-Request-ID", "trace-42.a_b") })
	if res.Header.Get("X-Request-ID") != "trace-42.a_b" {
		t.Fatalf("request id not echoed: %q", res.Header.Get("X-Request-ID"))
	}
	res = b.do(http.MethodGet, r.url+"/api/me", nil, func(q *http.Request) { q.Header.Set("X-Request-ID", "bad id\"x") })
	if id := res.Header.Get("X-Request-ID"); id == "bad id\"x" || !validRequestID(id) {
		t.Fatalf("bad request id kept: %q", id)
	}
	logs := r.logs.String()
	if !containsAll(logs, `"request_id":"trace-42.a_b"`, `"route":"/api/me"`, `"replica":"r1"`, `"status":200`, `"latency_ms"`, `"route":"unmatched"`) {
		t.Fatalf("log lines: %s", logs)
	}
	if strings.Contains(logs, b.cookieValue()) || strings.Contains(logs, b.cookieValue()[:20]) || strings.Contains(logs, string(testKey)) {
		t.Fatal("a cookie value or key is in the logs")
	}
}

func TestNotFoundAndMethod(t *testing.T) {
	t.Parallel()
	r := filesReplica(t, options{})
	b := newBrowser(t)
	res := b.get(r.url + "/no/such/page")
	expect(t, res, http.StatusNotFound)
	if !strings.Contains(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(res.text, msgNotFound) {
		t.Fatalf("404 page: %s", res.text)
	}
	res = b.get(r.url + "/api/nothing")
	expect(t, res, http.StatusNotFound)
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || !strings.Contains(res.text, `"error"`) {
		t.Fatalf("API 404: %s", res.text)
	}
	res = b.do(http.MethodDelete, r.url+"/login", nil)
	expect(t, res, http.StatusMethodNotAllowed)
	if !strings.Contains(res.Header.Get("Allow"), "POST") {
		t.Fatalf("405 Allow: %q", res.Header.Get("Allow"))
	}
	expect(t, b.get(r.url+"/theme"), http.StatusMethodNotAllowed)
	expect(t, b.get(r.url+"/login/"), http.StatusNotFound)
}
