package http

import (
	"net/http"
	"testing"
	"time"
)

// The expiry tests judge each request from its own start and end, never
// from how long a sleep was meant to take: on a loaded machine a sleep and
// a request can take far longer than asked. A request is judged "must be
// alive" only when the rules guarantee it whatever the delays, "must be
// gone" likewise; a request in between proves nothing, and the run starts
// over (a bounded number of times).

// TestIdleExpiry: a session used more often than the idle timeout lives
// on; one left unused longer is gone, from the store too.
func TestIdleExpiry(t *testing.T) {
	t.Parallel()
	const idle = time.Second
	const touch = idle / 10 // the engine's default TouchInterval
	w := newWorld(t)
	r := w.replica("r1", options{idle: idle, lifetime: time.Hour})
	b := newBrowser(t)
	prev := time.Now() // expiry runs from the request, not its answer
	b.login(r, "quinn")
	// A request is guaranteed to find the session alive when it ends less
	// than idle-touch after the previous one began: that one stamped
	// last-seen no earlier than its start minus the touch interval.
	for judged, tries := 0, 0; judged < 3; tries++ {
		if tries > 20 {
			t.Fatal("machine too loaded to judge sliding expiry in 20 tries")
		}
		time.Sleep(600 * time.Millisecond)
		start := time.Now()
		res := b.get(r.url + "/api/me")
		gap := time.Since(prev)
		switch {
		case res.StatusCode == http.StatusServiceUnavailable:
			continue // a store timeout on a loaded machine says nothing of expiry
		case res.StatusCode == http.StatusOK:
			if gap < idle-touch {
				judged++
			}
		case res.StatusCode == http.StatusUnauthorized && gap >= idle-touch:
			start = time.Now() // too long a gap: start over
			b.login(r, "quinn")
			judged = 0
		default:
			t.Fatalf("active session: %d %.200s, %v after the previous request began (idle timeout %v)", res.StatusCode, res.text, gap, idle)
		}
		prev = start
	}
	// Unused for longer than the idle timeout since the last answer: gone,
	// whatever the delays (last-seen is no later than that answer).
	time.Sleep(idle + 300*time.Millisecond)
	expectGone(t, b, r)
	res := b.get(r.url + "/")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("idle session: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if keys := w.sessionKeys(); len(keys) != 0 {
		t.Fatalf("idle session still stored: %v", keys)
	}
}

// TestAbsoluteExpiry: a session kept busy outlives its idle timeout but
// not its lifetime; then it is gone, from the store too.
func TestAbsoluteExpiry(t *testing.T) {
	t.Parallel()
	const idle, lifetime = 1500 * time.Millisecond, 2 * time.Second
	const touch = idle / 10
	w := newWorld(t)
	r := w.replica("r1", options{idle: idle, lifetime: lifetime})
	for try := 1; ; try++ {
		if try > 5 {
			t.Fatal("machine too loaded to judge the absolute lifetime in 5 tries")
		}
		if absoluteExpiryRun(t, w, r, idle, lifetime, touch) {
			return
		}
		t.Logf("try %d proved nothing (too slow a machine): again", try)
	}
}

// absoluteExpiryRun logs in, keeps the session busy past its idle timeout
// and checks it ends at its lifetime. It returns false when the machine was
// too slow for a request to prove anything.
func absoluteExpiryRun(t *testing.T, w *world, r *replica, idle, lifetime, touch time.Duration) bool {
	t.Helper()
	b := newBrowser(t)
	// The store stamps whole milliseconds, so the login's start is rounded
	// down as the store rounds the session's creation.
	loginStart := time.Now().Truncate(time.Millisecond)
	b.login(r, "rita")
	loginEnd := time.Now()
	// The session was created between loginStart and loginEnd: it lives
	// at least until loginStart+lifetime and at most until loginEnd+lifetime.
	// A request is guaranteed to find it alive when it ends before that
	// earliest end, and less than idle-touch after the previous one began.
	alive := func(end, prev time.Time) bool {
		return end.Before(loginStart.Add(lifetime)) && end.Sub(prev) < idle-touch
	}
	prev, busyUntil := loginStart, loginStart.Add(idle+200*time.Millisecond)
	for {
		start := time.Now()
		if !start.Before(busyUntil) {
			break
		}
		res := b.post(r.url+"/cart/add", "item", "fig")
		end := time.Now()
		switch {
		case res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") == "/":
		case res.StatusCode == http.StatusServiceUnavailable || !alive(end, prev):
			return inconclusive(b, r)
		default:
			t.Fatalf("busy session before its lifetime (%v after login): %d %q %.200s",
				end.Sub(loginStart), res.StatusCode, res.Header.Get("Location"), res.text)
		}
		prev = start
		time.Sleep(300 * time.Millisecond)
	}
	// Past the idle timeout since login, still alive.
	res := b.get(r.url + "/api/me")
	if res.StatusCode != http.StatusOK {
		if res.StatusCode == http.StatusServiceUnavailable || !alive(time.Now(), prev) {
			return inconclusive(b, r)
		}
		t.Fatalf("busy session %v after login, past its idle timeout %v but not its lifetime %v: %d",
			time.Since(loginStart), idle, lifetime, res.StatusCode)
	}
	// Past the latest possible end: gone, whatever the delays.
	time.Sleep(time.Until(loginEnd.Add(lifetime + 50*time.Millisecond)))
	expectGone(t, b, r)
	if keys := w.sessionKeys(); len(keys) != 0 {
		t.Fatalf("expired session still stored: %v", keys)
	}
	return true
}

// expectGone checks that b's session has ended: /api/me answers 401. A
// 503 (a store timeout on a loaded machine) says nothing of expiry: the
// request is sent again, at most 10 times; any other answer fails.
func expectGone(t *testing.T, b *browser, r *replica) {
	t.Helper()
	for range 10 {
		res := b.get(r.url + "/api/me")
		if res.StatusCode != http.StatusServiceUnavailable {
			expect(t, res, http.StatusUnauthorized)
			return
		}
	}
	t.Fatal("/api/me answered 503 10 times in a row: cannot tell whether the session ended")
}

// inconclusive ends a run that proved nothing: its session, if it still
// lives, is logged out so that the next run starts with an empty store.
func inconclusive(b *browser, r *replica) bool {
	b.post(r.url + "/logout")
	return false
}
