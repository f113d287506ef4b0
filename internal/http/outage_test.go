package http

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRedisOutage: with Redis gone, requests that need the session get
// 503 with Retry-After (never a 500, never a logout); health stays 200,
// readiness 503; when Redis is back the session is there.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{timeout: 300 * time.Millisecond})
	b := newBrowser(t)
	b.login(r, "tess")
	expect(t, b.post(r.url+"/cart/add", "item", "plum", "qty", "4"), http.StatusSeeOther)
	cookie := b.cookieValue()

	w.redis.Stop()
	for _, path := range []string{"/", "/sessions", "/logout", "/login"} {
		res := b.get(r.url + path)
		unavailable(t, res, false)
	}
	for _, path := range []string{"/theme", "/cart/add", "/cart/remove", "/logout", "/sessions/revoke-all", "/login"} {
		res := b.post(r.url+path, "theme", "dark", "item", "plum", "name", "tess")
		unavailable(t, res, false)
	}
	unavailable(t, b.get(r.url+"/api/me"), true)
	unavailable(t, b.get(r.url+"/api/sessions"), true)
	if b.cookieValue() != cookie {
		t.Fatal("the outage changed the cookie")
	}
	expect(t, b.get(r.url+"/healthz"), http.StatusOK)
	res := b.get(r.url + "/readyz")
	expect(t, res, http.StatusServiceUnavailable)
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("readyz 503 without Retry-After")
	}
	// Anonymous pages need no store.
	expect(t, newBrowser(t).get(r.url+"/login"), http.StatusOK)

	w.redis.Start()
	deadline := time.Now().Add(5 * time.Second)
	for b.get(r.url+"/readyz").StatusCode != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("not ready after Redis came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	m := getMe(t, b, r)
	if m.Name != "tess" || m.Cart["plum"] != 4 {
		t.Fatalf("after the outage: %+v", m)
	}
	expect(t, b.post(r.url+"/cart/add", "item", "plum"), http.StatusSeeOther)
	if got := getMe(t, b, r).Cart["plum"]; got != 5 {
		t.Fatalf("plum %d after recovery, want 5", got)
	}
}

// TestRedisHung: a Redis that accepts but does not answer gives 503s
// within the timeout, not hung requests.
func TestRedisHung(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{timeout: 200 * time.Millisecond})
	b := newBrowser(t)
	b.login(r, "uma")
	w.redis.Pause()
	start := time.Now()
	unavailable(t, b.get(r.url+"/api/me"), true)
	unavailable(t, b.post(r.url+"/cart/add", "item", "nut"), false)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("two requests to a hung Redis took %v", d)
	}
	w.redis.Resume()
	deadline := time.Now().Add(5 * time.Second)
	for b.get(r.url+"/api/me").StatusCode != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("no recovery after Redis resumed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func unavailable(t *testing.T, res *response, api bool) {
	t.Helper()
	expect(t, res, http.StatusServiceUnavailable)
	if res.Header.Get("Retry-After") == "" || res.Header.Get("Location") != "" {
		t.Fatalf("%s: Retry-After %q, Location %q", res.Request.URL.Path, res.Header.Get("Retry-After"), res.Header.Get("Location"))
	}
	ct := res.Header.Get("Content-Type")
	if api {
		var body struct{ Error string }
		if !strings.HasPrefix(ct, "application/json") || json.Unmarshal([]byte(res.text), &body) != nil || body.Error == "" {
			t.Fatalf("%s: want a JSON error, got %s %s", res.Request.URL.Path, ct, res.text)
		}
		return
	}
	if !strings.HasPrefix(ct, "text/html") || !strings.Contains(res.text, msgUnavailable) {
		t.Fatalf("%s: want the HTML 503 page, got %s %.300s", res.Request.URL.Path, ct, res.text)
	}
}
