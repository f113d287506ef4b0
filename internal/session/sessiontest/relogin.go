package sessiontest

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/session"
)

// reloginAtTheCapEndsNoOtherSession: a name at its maximum signs in again
// on one of its devices. The session the login replaces does not count
// against the maximum, so no other device is signed out.
func reloginAtTheCapEndsNoOtherSession(t *testing.T, b session.Backend, prefix string) {
	a := NewApp(t, MustManager(t, b, prefix, func(c *session.Config) { c.MaxPerUser = 5 }))
	var devices []string
	for range 5 {
		devices = append(devices, a.Login("cap"))
	}
	_, renamed := a.Do("POST", "/login/cap", devices[0])
	if renamed == "" || renamed == "-" {
		t.Fatalf("re-login set cookie %q", renamed)
	}
	devices[0] = renamed
	for i, c := range devices {
		if got := a.Body("GET", "/user", c); got != "cap" {
			t.Errorf("device %d of 5 (cap 5) signed out by a re-login of device 0: user %q", i, got)
		}
	}
}

// doubleClickedReloginsAtTheCapEndNoOtherSession: a device of a name at its
// maximum signs in again with a double click, many times. The click that
// loses the race renames nothing, and must leave nothing in the index
// that counts against the maximum: the other devices stay signed in.
func doubleClickedReloginsAtTheCapEndNoOtherSession(t *testing.T, b session.Backend, prefix string) {
	a := NewApp(t, MustManager(t, b, prefix, func(c *session.Config) { c.MaxPerUser = 5 }))
	var devices []string
	for range 5 {
		devices = append(devices, a.Login("clicks"))
	}
	for round := range 20 {
		var sets [2]string
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() { _, sets[i] = a.Do("POST", "/login/clicks", devices[0]) })
		}
		wg.Wait()
		next := ""
		for _, s := range sets {
			if s != "" && s != "-" {
				next = s
			}
		}
		if next == "" {
			t.Fatalf("round %d: neither click set a cookie: %q", round, sets)
		}
		devices[0] = next
	}
	for i, c := range devices {
		if got := a.Body("GET", "/user", c); got != "clicks" {
			t.Errorf("after 20 double-clicked re-logins of device 0: device %d of 5 (cap 5) signed out", i)
		}
	}
	if list, err := a.M.List(context.Background(), "clicks", nil); err != nil || len(list) != 5 {
		t.Errorf("listed %d sessions (%v), want the 5 devices", len(list), err)
	}
}

// changeRacingReloginIsKept: a change loaded before another request of the
// same browser renamed the session (a login in another tab) is applied to
// the renamed session, and its answer leaves the cookie alone: the other
// answer carries the new one.
func changeRacingReloginIsKept(t *testing.T, b session.Backend, prefix string) {
	m := MustManager(t, b, prefix, nil)
	a := NewApp(t, m)
	c := a.Login("tab")
	a.Do("POST", "/incr/apples", c)
	s := Load(t, m, c) // the cart add, loaded before the re-login
	rec := httptest.NewRecorder()
	s.SetWriter(rec)
	_, renamed := a.Do("POST", "/login/tab", c) // the other tab's login
	if renamed == "" || renamed == "-" {
		t.Fatalf("re-login set cookie %q", renamed)
	}
	s.Incr("apples", 2, 99)
	if err := s.Save(); err != nil {
		t.Fatalf("a change racing a re-login: %v", err)
	}
	if h := rec.Header().Get("Set-Cookie"); h != "" {
		t.Errorf("the change's answer sets a cookie (%q); the login's answer carries the session's", h)
	}
	if got := a.Body("GET", "/get/apples", renamed); got != "3" {
		t.Errorf("after the change that raced the login the renamed session holds %q apples, want 3", got)
	}
	if got := a.Body("GET", "/user", renamed); got != "tab" {
		t.Errorf("renamed session's user %q", got)
	}
}

// replicaClockBehindStillTouches: a replica whose clock is far behind the
// store's sees every last-seen stamp in its future; it must still refresh
// it (on every request), or the session would idle out while in use.
func replicaClockBehindStillTouches(t *testing.T, b session.Backend, prefix string) {
	m := MustManager(t, b, prefix, func(c *session.Config) {
		c.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	})
	a := NewApp(t, m)
	c := a.Login("late")
	first := Load(t, m, c).LastSeen()
	// Stamps are kept to the millisecond: wait until the store's clock
	// (this machine's) is past the first one.
	WaitUntil(t, 5*time.Second, func() bool { return time.Since(first) > 5*time.Millisecond })
	a.Do("GET", "/user", c)
	if again := Load(t, m, c).LastSeen(); !again.After(first) {
		t.Errorf("a replica 2h behind the store did not refresh last-seen: %v, then %v", first, again)
	}
}

// touchKeepsTheIndexEntry: a session in use beyond the deadline its index
// entry first had stays listed, and revoke-all ends it: each touch moves
// the entry's deadline with the session's expiry.
func touchKeepsTheIndexEntry(t *testing.T, b session.Backend, prefix string) {
	const idle = 3 * time.Second
	m := MustManager(t, b, prefix, func(c *session.Config) {
		c.IdleTimeout, c.TouchInterval, c.ClockSkew = idle, 300*time.Millisecond, 100*time.Millisecond
	})
	a := NewApp(t, m)
	ctx := context.Background()
	active := a.Login("busy")
	start := time.Now()
	// In use for twice the idle timeout, a request every half second (the
	// slack for a loaded machine is the rest of the idle timeout).
	for time.Since(start) < 2*idle+time.Second {
		if got := a.Body("GET", "/user", active); got != "busy" {
			t.Fatalf("the active session ended after %v: %q", time.Since(start).Round(time.Millisecond), got)
		}
		time.Sleep(500 * time.Millisecond)
	}
	other := a.Login("busy") // writes the index: prunes what passed
	list, err := m.List(ctx, "busy", nil)
	if err != nil || len(list) != 2 {
		t.Fatalf("listed %d (%v), want the active session and the new one", len(list), err)
	}
	if n, err := m.RevokeAll(ctx, "busy"); err != nil || n != 2 {
		t.Errorf("revoke-all ended %d (%v), want 2", n, err)
	}
	for _, c := range []string{active, other} {
		if got := a.Body("GET", "/user", c); got != "" {
			t.Errorf("a session survived revoke-all: %q", strings.TrimSpace(got))
		}
	}
}

// layoutsReadEachOther: replicas writing different layouts on one store
// (a change of layout rolling out, or rolled back) serve each other's
// sessions: reads, changes, re-logins, listings and revoke-all, whichever
// layout each session is in. Layouts never share a key.
func layoutsReadEachOther(t *testing.T, b session.Backend, prefix string) {
	ctx := context.Background()
	other := session.Layout1
	if b.Layout() == session.Layout1 {
		other = session.Layout2
	}
	mine, theirs := NewApp(t, MustManager(t, b, prefix, nil)), NewApp(t, MustManager(t, b.ForLayout(other), prefix, nil))
	if mine.M.SessionKey("AbCdEfGhIjKlMnOp") == theirs.M.SessionKey("AbCdEfGhIjKlMnOp") || mine.M.Index("x") == theirs.M.Index("x") {
		t.Fatalf("two layouts share key names: %q, %q", mine.M.SessionKey("AbCdEfGhIjKlMnOp"), mine.M.Index("x").Key)
	}
	a, c := mine.Login("both"), theirs.Login("both")
	for i, app := range []*App{mine, theirs, mine, theirs} {
		for _, ck := range []string{a, c} {
			if rec, set := app.Do("POST", "/incr/apples", ck); rec.Code != 200 || set == "-" {
				t.Fatalf("step %d: a cart add on the other layout's replica: %d %q (cookie %q)", i, rec.Code, rec.Body.String(), set)
			}
		}
	}
	for _, ck := range []string{a, c} {
		for _, app := range []*App{mine, theirs} {
			if got := app.Body("GET", "/get/apples", ck); got != "4" {
				t.Errorf("apples %q, want the 4 adds of both replicas", got)
			}
		}
	}
	// A re-login on the other layout's replica keeps the session where it is.
	_, a2 := theirs.Do("POST", "/login/both", a)
	if a2 == "" || a2 == "-" || mine.Body("GET", "/get/apples", a2) != "4" || mine.Body("GET", "/user", a) != "" {
		t.Fatalf("re-login across layouts: cookie %q, apples %q", a2, mine.Body("GET", "/get/apples", a2))
	}
	for _, app := range []*App{mine, theirs} {
		if list, err := app.M.List(ctx, "both", nil); err != nil || len(list) != 2 {
			t.Errorf("listed %d (%v), want the sessions of both layouts", len(list), err)
		}
	}
	if n, err := mine.M.RevokeAll(ctx, "both"); err != nil || n != 2 {
		t.Errorf("revoke-all ended %d (%v), want the sessions of both layouts", n, err)
	}
	for _, ck := range []string{a2, c} {
		for _, app := range []*App{mine, theirs} {
			if got := app.Body("GET", "/user", ck); got != "" {
				t.Errorf("a session survived revoke-all: %q", got)
			}
		}
	}
}

// unknownFieldsAreKept: what a newer release of the same layout adds to a
// session (a field of its own, bytes after the metadata this release
// knows) is kept through this release's changes, touches and re-logins.
func unknownFieldsAreKept(t *testing.T, b session.Backend, prefix string) {
	m := MustManager(t, b, prefix, func(c *session.Config) { c.TouchInterval = time.Millisecond })
	a := NewApp(t, m)
	ctx := context.Background()
	c := a.Login("newer")
	key := StoreKey(t, m, c)
	rec, found, err := b.Load(ctx, key)
	if err != nil || !found {
		t.Fatalf("load: %v %v", found, err)
	}
	meta := rec[session.MetaField]
	extra := session.Delta{Force: []session.FieldSet{{Field: "@newer", Value: "kept"}}}
	if b.Layout() != session.Layout1 {
		// a later version of the layout: its version byte, then more
		meta = meta[:session.MetaLen] + "\x07" + "tail"
		extra.Force = append(extra.Force, session.FieldSet{Field: session.MetaField, Value: meta})
	}
	if _, err := b.Apply(ctx, key, extra); err != nil {
		t.Fatal(err)
	}
	a.Do("POST", "/incr/apples", c)
	time.Sleep(5 * time.Millisecond) // the touch interval: the next request touches
	a.Do("POST", "/incr/apples", c)
	_, c2 := a.Do("POST", "/login/newer", c)
	if got := a.Body("GET", "/get/apples", c2); got != "2" {
		t.Fatalf("apples %q after the changes and the re-login", got)
	}
	rec, _, err = b.Load(ctx, StoreKey(t, m, c2))
	if err != nil || rec["@newer"] != "kept" {
		t.Errorf("a field this release does not know was dropped: %q (%v)", rec["@newer"], err)
	}
	if got := rec[session.MetaField]; len(got) != len(meta) || got[session.MetaLen:] != meta[session.MetaLen:] {
		t.Errorf("metadata after this release's writes: %q, want it to end as the newer release wrote it: %q", got, meta)
	}
}

// unreadableRecordsKeepTheCookie: a session stored in a form this release
// does not read, or a cookie of a layout it does not know (a newer
// release wrote them), is no session here, and the cookie is left alone:
// a replica of that release may serve the next request.
func unreadableRecordsKeepTheCookie(t *testing.T, b session.Backend, prefix string) {
	m := MustManager(t, b, prefix, nil)
	a := NewApp(t, m)
	ctx := context.Background()
	c := a.Login("future")
	tok, _, _ := m.Signer().Decode(c)
	if _, err := b.Apply(ctx, StoreKey(t, m, c), session.Delta{Force: []session.FieldSet{{Field: session.MetaField, Value: "\x09 a newer form"}}}); err != nil {
		t.Fatal(err)
	}
	newer := m.Signer().Encode(session.Token{Selector: tok.Selector, Verifier: tok.Verifier, Layout: 9})
	for name, ck := range map[string]string{"unreadable record": c, "unknown layout": newer} {
		rec, set := a.Do("GET", "/user", ck)
		if rec.Body.String() != "" {
			t.Errorf("%s: adopted as %q", name, rec.Body.String())
		}
		if set != "" {
			t.Errorf("%s: the cookie was touched (%q)", name, set)
		}
	}
}
