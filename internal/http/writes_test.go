package http

import (
	"net/http"
	"testing"
)

// TestReadsWriteNothing counts Redis commands (INFO commandstats on a
// server only this test uses): read-only pages of a signed-in user do no
// write; anonymous requests do no store call at all.
func TestReadsWriteNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{})
	b := newBrowser(t)
	b.login(r, "vera")
	expect(t, b.post(r.url+"/cart/add", "item", "yam"), http.StatusSeeOther)
	// The add left a notice ("Added 1 × yam."); the page that shows it
	// removes it, which is a write (TestNoticeShownOnce counts it).
	expect(t, b.get(r.url+"/"), http.StatusOK)

	before := w.stats()
	for _, path := range []string{"/", "/", "/api/me", "/sessions", "/api/sessions", "/logout", "/login", "/healthz", "/metrics"} {
		if c := b.get(r.url + path).StatusCode; c != http.StatusOK {
			t.Fatalf("GET %s: %d", path, c)
		}
	}
	diff := redistestDiff(before, w.stats())
	if got := writes(diff); len(got) != 0 {
		t.Fatalf("read-only pages wrote: %v (all: %v)", got, diff)
	}
	if diff["hgetall"] == 0 {
		t.Fatalf("no reads counted (%v): is the test measuring the right server?", diff)
	}

	anon := newBrowser(t)
	before = w.stats()
	for _, path := range []string{"/", "/login", "/logout", "/sessions", "/api/me", "/api/sessions", "/healthz", "/metrics", "/nope"} {
		anon.get(r.url + path)
	}
	for _, path := range []string{"/theme", "/cart/add", "/cart/remove", "/logout", "/sessions/revoke", "/sessions/revoke-others", "/sessions/revoke-all"} {
		if c := anon.post(r.url+path, "theme", "dark", "item", "x", "id", "0123456789abcdef").StatusCode; c != http.StatusSeeOther {
			t.Fatalf("anonymous POST %s: %d", path, c)
		}
	}
	anon.post(r.url+"/login", "name", "")
	if diff := redistestDiff(before, w.stats()); len(diff) != 0 && !(len(diff) == 1 && diff["info"] > 0) {
		t.Fatalf("anonymous requests reached the store: %v", diff)
	}
	if anon.cookieValue() != "" {
		t.Fatal("an anonymous request got a cookie")
	}
}
