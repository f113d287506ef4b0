package http

import (
	"net/http"
	"testing"
	"time"
)

func TestIdleExpiry(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{idle: time.Second, lifetime: time.Hour})
	b := newBrowser(t)
	b.login(r, "quinn")
	// Use within the idle timeout keeps it alive.
	for range 3 {
		time.Sleep(600 * time.Millisecond)
		expect(t, b.get(r.url+"/api/me"), http.StatusOK)
	}
	time.Sleep(1300 * time.Millisecond)
	expect(t, b.get(r.url+"/api/me"), http.StatusUnauthorized)
	res := b.get(r.url + "/")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("idle session: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if keys := w.sessionKeys(); len(keys) != 0 {
		t.Fatalf("idle session still stored: %v", keys)
	}
}

func TestAbsoluteExpiry(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{idle: 1500 * time.Millisecond, lifetime: 2 * time.Second})
	b := newBrowser(t)
	start := time.Now()
	b.login(r, "rita")
	// Kept busy, it outlives the idle timeout but not the lifetime.
	for time.Since(start) < 1700*time.Millisecond {
		expect(t, b.post(r.url+"/cart/add", "item", "fig"), http.StatusSeeOther)
		time.Sleep(300 * time.Millisecond)
	}
	expect(t, b.get(r.url+"/api/me"), http.StatusOK)
	time.Sleep(2300*time.Millisecond - time.Since(start))
	expect(t, b.get(r.url+"/api/me"), http.StatusUnauthorized)
	if keys := w.sessionKeys(); len(keys) != 0 {
		t.Fatalf("expired session still stored: %v", keys)
	}
}
