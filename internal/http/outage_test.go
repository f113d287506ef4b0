package http

import (
	"context"
	"encoding/json"
	"html"
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
	// The engine's default store timeout (1s): nothing here is timed, and a
	// shorter one fails the healthy requests of a loaded machine.
	r := w.replica("r1", options{})
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
	// The login goes through a replica with the default timeout (1s): on a
	// loaded machine a healthy request can take longer than r's 200ms.
	b := newBrowser(t)
	b.login(w.replica("r2", options{}), "uma")
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

// unavailable checks a 503 of a store failure before anything was written
// (the page says nothing was done); api: as JSON.
func unavailable(t *testing.T, res *response, api bool) {
	t.Helper()
	unavailableWith(t, res, api, msgUnavailable)
}

// unavailableWith checks a 503 with Retry-After and no redirect: as JSON
// under /api/, else the HTML page with msg.
func unavailableWith(t *testing.T, res *response, api bool, msg string) {
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
	if !strings.HasPrefix(ct, "text/html") || !strings.Contains(res.text, html.EscapeString(msg)) {
		t.Fatalf("%s: want the HTML 503 page, got %s %.300s", res.Request.URL.Path, ct, res.text)
	}
}

// TestOutageMessagesSayWhatIsTrue: a 503 tells each visitor what is true
// for them. Anonymous: not signed in. Signed in, the store failing before
// any write (a load): nothing was done, still signed in. Signed in, a
// write failing (Redis refuses the write scripts while reads work): the
// change may or may not have been applied.
func TestOutageMessagesSayWhatIsTrue(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// The engine's default store timeout (1s): nothing here is timed, and a
	// shorter one fails the healthy requests of a loaded machine.
	r := w.replica("r1", options{})
	b := newBrowser(t)
	b.login(r, "yara")
	cookie := b.cookieValue()

	// Writes fail (the scripts and deletes the engine writes with), reads
	// work: every change of a session that exists, a logout included.
	ctx := context.Background()
	if err := w.rdb.Do(ctx, "ACL", "SETUSER", "default", "-evalsha", "-eval", "-fcall", "-unlink", "-del").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.rdb.Do(context.Background(), "ACL", "SETUSER", "default", "+@all") })
	expect(t, b.get(r.url+"/api/me"), http.StatusOK) // reads still work
	for _, tc := range []struct{ path, field, value string }{
		{"/theme", "theme", "dark"}, {"/cart/add", "item", "fig"}, {"/login", "name", "yara2"}, {"/logout", "", ""},
	} {
		unavailableWith(t, b.post(r.url+tc.path, tc.field, tc.value), false, msgUnsure)
	}
	if b.cookieValue() != cookie {
		t.Fatal("a failed write changed the cookie")
	}
	// An anonymous sign-in fails at its first write.
	anon := newBrowser(t)
	unavailableWith(t, anon.post(r.url+"/login", "name", "zed"), false, msgNotSignedIn)
	if anon.cookieValue() != "" {
		t.Fatal("a failed sign-in set a cookie")
	}
	w.rdb.Do(ctx, "ACL", "SETUSER", "default", "+@all")

	// The store gone: a signed-in visitor's load fails, nothing is done;
	// an anonymous one is told they are not signed in.
	w.redis.Stop()
	unavailableWith(t, b.post(r.url+"/cart/add", "item", "fig"), false, msgUnavailable)
	res := newBrowser(t).post(r.url+"/login", "name", "zed")
	unavailableWith(t, res, false, msgNotSignedIn)
}
