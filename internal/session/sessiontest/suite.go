package sessiontest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/tester"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/ginsession"
)

// Run runs the whole suite against the store open opens: the engine's
// guarantees through a Manager on it, the Backend contract itself, and
// gin-contrib's own store tester through the ginsession adapter. Each test
// gets a fresh backend and runs in parallel with the others.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b session.Backend, prefix string)
	}{
		{"LoginKeepsDataAndKillsOldID", loginKeepsDataAndKillsOldID},
		{"UnknownTamperedAndForeignCookiesAreNotAdopted", unknownTamperedAndForeignCookiesAreNotAdopted},
		{"ConcurrentIncrementsAllCount", concurrentIncrementsAllCount},
		{"CompareAndSetDetectsSameFieldConflict", compareAndSetDetectsSameFieldConflict},
		{"WriteRacingLogoutFailsAndDoesNotResurrect", writeRacingLogoutFailsAndDoesNotResurrect},
		{"IdleAndAbsoluteExpiry", idleAndAbsoluteExpiry},
		{"UserIndexListRevokeAndPrune", userIndexListRevokeAndPrune},
		{"KeyRotation", keyRotation},
		{"CookieFlags", cookieFlags},
		{"IndexStaysBounded", indexStaysBounded},
		{"ListingNeverHidesASession", listingNeverHidesASession},
		{"DoubleClickedLoginKeepsTheData", doubleClickedLoginKeepsTheData},
		{"ChangeLosingToLogoutStaysLoggedOut", changeLosingToLogoutStaysLoggedOut},
		{"UserSessionsAreBounded", userSessionsAreBounded},
		{"RevokeAllRacingReloginLeavesNothing", revokeAllRacingReloginLeavesNothing},
		{"LogoutRacingReloginLeavesNothing", logoutRacingReloginLeavesNothing},
		{"PanicCommitsNothing", panicCommitsNothing},
		{"CountersAreExact", countersAreExact},
		{"SkewedClockDoesNotEndSessions", skewedClockDoesNotEndSessions},
		{"ReloginAtTheCapEndsNoOtherSession", reloginAtTheCapEndsNoOtherSession},
		{"DoubleClickedReloginsAtTheCapEndNoOtherSession", doubleClickedReloginsAtTheCapEndNoOtherSession},
		{"ChangeRacingReloginIsKept", changeRacingReloginIsKept},
		{"ReplicaClockBehindStillTouches", replicaClockBehindStillTouches},
		{"TouchKeepsTheIndexEntry", touchKeepsTheIndexEntry},
		{"LayoutsReadEachOther", layoutsReadEachOther},
		{"UnknownFieldsAreKept", unknownFieldsAreKept},
		{"UnreadableRecordsKeepTheCookie", unreadableRecordsKeepTheCookie},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, prefix := open(t)
			tc.fn(t, b, prefix)
		})
	}
	// The same guarantees when new sessions are written in the newest
	// layout: the store's records of layout 2, read by a Manager that
	// reads every layout.
	t.Run("Layout2", func(t *testing.T) {
		t.Parallel()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				b, prefix := open(t)
				tc.fn(t, b.ForLayout(session.Layout2), prefix)
			})
		}
	})
	t.Run("GinContribConformance", func(t *testing.T) {
		t.Parallel()
		factory := func(t *testing.T) sessions.Store {
			b, prefix := open(t)
			return ginsession.NewStore(MustManager(t, b, prefix, nil))
		}
		GinContribConformance(t, factory)
	})
}

func loginKeepsDataAndKillsOldID(t *testing.T, b session.Backend, prefix string) {
	a := NewApp(t, MustManager(t, b, prefix, nil))
	c1 := a.Login("ann")
	if _, set := a.Do("POST", "/set/theme/dark", c1); set != "" {
		t.Fatalf("a plain change re-sent the cookie: %q", set)
	}
	_, c2 := a.Do("POST", "/login/bob", c1)
	if c2 == "" || c2 == "-" || c2 == c1 {
		t.Fatalf("login did not issue a new id: %q", c2)
	}
	if got := a.Body("GET", "/get/theme", c2); got != "dark" {
		t.Errorf("data after login = %q, want dark", got)
	}
	if got := a.Body("GET", "/user", c2); got != "bob" {
		t.Errorf("user = %q", got)
	}
	if got := a.Body("GET", "/user", c1); got != "" {
		t.Errorf("old id still works after login: user %q", got)
	}
	// For a while (ForwardTTL) the old id forwards to the new one: a
	// request still carrying it (a double-click, a request racing the
	// login) is not served, and leaves the cookie alone, which would
	// otherwise delete the new one the browser holds.
	if _, set := a.Do("GET", "/user", c1); set != "" {
		t.Errorf("a racing request with the old cookie changed the cookie: %q", set)
	}
	// the selector kept its hash tag (same Cluster slot) but nothing else
	k1, k2 := StoreKey(t, a.M, c1), StoreKey(t, a.M, c2)
	if hashTag(k1) == "" || hashTag(k1) != hashTag(k2) || k1 == k2 {
		t.Errorf("store keys %q -> %q", k1, k2)
	}
}

func unknownTamperedAndForeignCookiesAreNotAdopted(t *testing.T, b session.Backend, prefix string) {
	m := MustManager(t, b, prefix, nil)
	a := NewApp(t, m)
	good := a.Login("ann")
	other := MustManager(t, b, prefix, func(c *session.Config) { c.Keys = [][]byte{[]byte(strings.Repeat("x", 32))} })
	goodTok, _, _ := m.Signer().Decode(good)
	unknown := m.Signer().Encode(session.Token{Selector: "AAAAAAAAAAAAAAAA", Verifier: make([]byte, 32), Layout: goodTok.Layout})
	wrongVerifier := m.Signer().Encode(session.Token{Selector: goodTok.Selector, Verifier: make([]byte, 32), Layout: goodTok.Layout})
	unsigned, _, _ := strings.Cut(good, ".")
	// a changed character that keeps the token well-formed: base64url
	// letters swapped for letters
	flip := []byte(good)
	flip[5] = map[bool]byte{true: 'B', false: 'A'}[flip[5] == 'A']
	badChar := []byte(good)
	badChar[5] = '%'
	for name, tc := range map[string]struct {
		cookie string
		// Expired: a cookie this replica can tell is dead is deleted. One
		// that is well-formed but signed by no key of this replica
		// (tampered with, or signed with a key it lacks) is kept: another
		// replica may hold that key, and deleting it would log its owner
		// out everywhere.
		expired bool
	}{
		"tampered":       {string(flip), false},
		"tampered char":  {string(badChar), true},
		"truncated":      {good[:len(good)-2], true},
		"unsigned":       {unsigned, true},
		"unknown id":     {unknown, true},
		"wrong verifier": {wrongVerifier, true},
		"other key":      {other.Signer().Encode(goodTok), false},
		"garbage":        {"%%%not-a-token", true},
	} {
		c := tc.cookie
		rec, set := a.Do("GET", "/user", c)
		if rec.Body.String() != "" {
			t.Errorf("%s: adopted as user %q", name, rec.Body.String())
		}
		if tc.expired && set != "-" {
			t.Errorf("%s: cookie not expired (%q)", name, set)
		}
		if !tc.expired && set != "" {
			t.Errorf("%s: the cookie was touched (%q) by a replica that cannot verify it", name, set)
		}
		// logging in from a bad cookie gives a fresh id
		_, c2 := a.Do("POST", "/login/eve", c)
		tok2, _, err := m.Signer().Decode(c2)
		if err != nil || tok2.Selector == goodTok.Selector || strings.HasPrefix(c2, c[:min(len(c), len(unsigned))]) {
			t.Errorf("%s: login reused the presented id", name)
		}
	}
	if a.Body("GET", "/user", good) != "ann" {
		t.Error("the genuine session was harmed")
	}
}

// queueTimeout is the store timeout of the tests that queue many writes
// at once and prove that none is lost, not how fast the store is: the
// filesystem store writes and syncs each under one lock, and on a loaded
// 2-core machine under -race the last of 100 queued writes waited longer
// than the engine's 1s default and answered 503.
const queueTimeout = 10 * time.Second

func concurrentIncrementsAllCount(t *testing.T, b session.Backend, prefix string) {
	a := NewApp(t, MustManager(t, b, prefix, func(c *session.Config) { c.Timeout = queueTimeout }))
	c := a.Login("ann")
	var wg sync.WaitGroup
	var failed sync.Map
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rec, _ := a.Do("POST", "/incr/apples", c); rec.Code != 200 {
				failed.Store(i, rec.Code)
			}
		}()
	}
	wg.Wait()
	failed.Range(func(k, v any) bool { t.Errorf("incr %v: status %v", k, v); return true })
	if got := a.Body("GET", "/get/apples", c); got != "100" {
		t.Errorf("apples = %s, want 100", got)
	}
}

func compareAndSetDetectsSameFieldConflict(t *testing.T, b session.Backend, prefix string) {
	m := MustManager(t, b, prefix, nil)
	c := NewApp(t, m).Login("ann")
	s1, s2, s3 := Load(t, m, c), Load(t, m, c), Load(t, m, c)
	s1.Set("theme", "dark")
	if err := s1.Save(); err != nil {
		t.Fatal(err)
	}
	s2.Set("theme", "light")
	var ce *session.ConflictError
	if err := s2.Save(); !errors.As(err, &ce) || !errors.Is(err, session.ErrConflict) || ce.Fields[0] != "theme" {
		t.Fatalf("conflicting write: err %v, want a conflict on theme", err)
	}
	// a different field is no conflict, and setting the value that is
	// already there is none either
	s3.Set("lang", "en")
	s3.Set("theme", "dark")
	if err := s3.Save(); err != nil {
		t.Fatalf("independent write: %v", err)
	}
	// the loser retries from a fresh read and wins cleanly
	if err := s2.Reload(); err != nil {
		t.Fatal(err)
	}
	s2.Set("theme", "light")
	if err := s2.Save(); err != nil {
		t.Fatal(err)
	}
	got := Load(t, m, c)
	if got.String("theme") != "light" || got.String("lang") != "en" {
		t.Errorf("after retry: theme %q lang %q", got.String("theme"), got.String("lang"))
	}
}

func writeRacingLogoutFailsAndDoesNotResurrect(t *testing.T, b session.Backend, prefix string) {
	m := MustManager(t, b, prefix, nil)
	a := NewApp(t, m)
	c := a.Login("ann")
	writer := Load(t, m, c)
	if rec, set := a.Do("POST", "/logout", c); rec.Code != 200 || set != "-" {
		t.Fatalf("logout: %d cookie %q", rec.Code, set)
	}
	writer.Set("theme", "dark")
	writer.Incr("cart:apple", 1, 99)
	if err := writer.Save(); !errors.Is(err, session.ErrGone) {
		t.Fatalf("write after logout: %v, want session.ErrGone", err)
	}
	if _, found, _ := b.Load(context.Background(), StoreKey(t, m, c)); found {
		t.Fatal("the session came back")
	}
	renamer := Load(t, m, a.Login("bob"))
	if _, err := m.RevokeAll(context.Background(), "bob"); err != nil {
		t.Fatal(err)
	}
	renamer.Login("bob")
	if err := renamer.Save(); !errors.Is(err, session.ErrGone) {
		t.Fatalf("login racing revoke-all: %v, want session.ErrGone", err)
	}
	if list, _ := m.List(context.Background(), "bob", nil); len(list) != 0 {
		t.Fatalf("revoked session listed again: %+v", list)
	}
}

func idleAndAbsoluteExpiry(t *testing.T, b session.Backend, prefix string) {
	idle := MustManager(t, b, prefix, func(c *session.Config) {
		c.IdleTimeout, c.TouchInterval, c.Lifetime = 600*time.Millisecond, 100*time.Millisecond, time.Hour
	})
	a := NewApp(t, idle)
	prev := time.Now() // expiry runs from the request, not its answer
	c := a.Login("ann")
	// Used every 200ms for 1.2s: the sliding idle window keeps it alive.
	// It is guaranteed alive while less than idle-touch has passed since
	// the previous request began; on a loaded machine a longer gap
	// proves nothing, so only shorter gaps are judged.
	for judged, tries := 0, 0; judged < 6; tries++ {
		if tries > 30 {
			t.Fatal("machine too loaded to judge sliding expiry in 30 tries")
		}
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		rec, _ := a.Do("GET", "/user", c)
		if rec.Code != http.StatusOK {
			continue // a store timeout on a loaded machine says nothing of expiry
		}
		alive := rec.Body.String() == "ann"
		// The previous request stored last-seen no earlier than its
		// start minus the touch interval; this one loaded it no later
		// than now. So it must be alive if now-prev < idle-touch.
		switch gap := time.Since(prev); {
		case gap >= 500*time.Millisecond && !alive:
			start = time.Now()
			c, judged = a.Login("ann"), 0 // too long a gap: start over
		case !alive:
			t.Fatalf("active session expired %v after the previous request", gap)
		case gap < 500*time.Millisecond:
			judged++
		}
		prev = start
	}
	time.Sleep(700 * time.Millisecond)
	if got := a.Body("GET", "/user", c); got != "" {
		t.Fatalf("idle session still alive: %q", got)
	}

	abs := MustManager(t, b, prefix, func(c *session.Config) {
		c.IdleTimeout, c.TouchInterval, c.Lifetime = time.Hour, 50*time.Millisecond, 700*time.Millisecond
	})
	a = NewApp(t, abs)
	// The store stamps whole milliseconds: a session created at 12.0009 s
	// ends at 12.700 s, before created+lifetime. So created is rounded
	// down as the store rounds.
	created := time.Now().Truncate(time.Millisecond)
	c = a.Login("ann")
	// Created between then and now: alive for a request that ends before
	// created+lifetime, gone for one that begins after loggedIn+lifetime.
	loggedIn := time.Now()
	deadline := created.Add(700 * time.Millisecond)
	for {
		rec, _ := a.Do("GET", "/user", c)
		end := time.Now()
		if rec.Code != http.StatusOK { // a store timeout says nothing of expiry
			if end.After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		alive := rec.Body.String() == "ann"
		if !alive && end.Before(deadline) {
			t.Fatalf("session ended %v after its creation began, before its lifetime %v", end.Sub(created), 700*time.Millisecond)
		}
		if !alive || end.After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Until(loggedIn.Add(700*time.Millisecond + 100*time.Millisecond)))
	if got := a.Body("GET", "/user", c); got != "" {
		t.Fatalf("session outlived its absolute lifetime: %q", got)
	}
}

func userIndexListRevokeAndPrune(t *testing.T, b session.Backend, prefix string) {
	m := MustManager(t, b, prefix, nil)
	a := NewApp(t, m)
	ctx := context.Background()
	c1, c2, c3 := a.Login("ann"), a.Login("ann"), a.Login("ann")
	a.Login("bob")
	list, err := m.List(ctx, "ann", Load(t, m, c2))
	if err != nil || len(list) != 3 {
		t.Fatalf("list: %v %+v", err, list)
	}
	current := 0
	for _, in := range list {
		if in.Current {
			current++
		}
		if strings.Contains(c1+c2+c3, in.ID) {
			t.Errorf("public id %q is part of a cookie", in.ID)
		}
	}
	if current != 1 {
		t.Errorf("%d sessions marked current", current)
	}
	// logout takes the session's index entry with it
	a.Do("POST", "/logout", c3)
	if list, _ = m.List(ctx, "ann", nil); len(list) != 2 {
		t.Fatalf("after logout: %d listed", len(list))
	}
	entries, _ := b.Index(ctx, m.Index("ann"))
	if len(entries) != 2 {
		t.Errorf("index not pruned: %d entries", len(entries))
	}
	// revoke one by public id; someone else's id does nothing
	bobs, _ := m.List(ctx, "bob", nil)
	if ok, _ := m.Revoke(ctx, "ann", bobs[0].ID); ok {
		t.Error("revoked another user's session")
	}
	target := Load(t, m, c1)
	if ok, err := m.Revoke(ctx, "ann", target.ID()); !ok || err != nil {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	if a.Body("GET", "/user", c1) != "" || a.Body("GET", "/user", c2) != "ann" {
		t.Error("revoke hit the wrong session")
	}
	n, err := m.RevokeAll(ctx, "ann")
	if err != nil || n != 1 || a.Body("GET", "/user", c2) != "" {
		t.Fatalf("revoke-all: n=%d err=%v", n, err)
	}
	if bobs, _ = m.List(ctx, "bob", nil); len(bobs) != 1 {
		t.Error("revoke-all of ann touched bob")
	}
}

func keyRotation(t *testing.T, b session.Backend, prefix string) {
	oldKey, newKey := []byte(strings.Repeat("o", 32)), []byte(strings.Repeat("n", 32))
	before := NewApp(t, MustManager(t, b, prefix, func(c *session.Config) { c.Keys = [][]byte{oldKey} }))
	c := before.Login("ann")
	rotated := NewApp(t, MustManager(t, b, prefix, func(c *session.Config) { c.Keys = [][]byte{newKey, oldKey} }))
	rec, resigned := rotated.Do("GET", "/user", c)
	if rec.Body.String() != "ann" || resigned == "" || resigned == "-" || resigned == c {
		t.Fatalf("rotation: user %q, re-signed cookie %q", rec.Body.String(), resigned)
	}
	after := NewApp(t, MustManager(t, b, prefix, func(c *session.Config) { c.Keys = [][]byte{newKey} }))
	if after.Body("GET", "/user", c) != "" {
		t.Error("a session signed only by a removed key still works")
	}
	if after.Body("GET", "/user", resigned) != "ann" {
		t.Error("the re-signed cookie does not work after the old key is gone")
	}
}

func cookieFlags(t *testing.T, b session.Backend, prefix string) {
	for _, permanent := range []bool{false, true} {
		a := NewApp(t, MustManager(t, b, prefix, func(c *session.Config) { c.Cookie.Persistent, c.Lifetime = permanent, 2*time.Hour }))
		rec, _ := a.Do("POST", "/login/ann", "")
		raw := rec.Header().Get("Set-Cookie")
		for _, want := range []string{"session=", "Path=/", "HttpOnly", "SameSite=Lax"} {
			if !strings.Contains(raw, want) {
				t.Errorf("permanent=%v: %q lacks %s", permanent, raw, want)
			}
		}
		hasAge := strings.Contains(raw, "Max-Age=") || strings.Contains(raw, "Expires=")
		if hasAge != permanent {
			t.Errorf("permanent=%v: cookie %q", permanent, raw)
		}
		if strings.Contains(raw, "Secure") {
			t.Errorf("Secure over plain HTTP: %q", raw)
		}
	}
}

// hashTag is the Cluster hash tag of a store key: what is between its
// first { and the next }.
func hashTag(key string) string {
	_, rest, ok := strings.Cut(key, "{")
	if !ok {
		return ""
	}
	tag, _, ok := strings.Cut(rest, "}")
	if !ok {
		return ""
	}
	return tag
}

// indexStaysBounded: the per-user index stays bounded without listings:
// entries past their deadline (sessions that idled out) are pruned by the
// next write of the index, here a login. (Each store's own tests check
// how it stores that.)
func indexStaysBounded(t *testing.T, b session.Backend, prefix string) {
	ctx := context.Background()
	long := NewApp(t, MustManager(t, b, prefix, nil))
	short := NewApp(t, MustManager(t, b, prefix, func(c *session.Config) {
		// (a Cluster's index deadlines carry the skew tolerated between nodes)
		c.IdleTimeout, c.TouchInterval, c.ClockSkew = 100*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond
	}))
	long.Login("bounded")
	for range 10 {
		short.Login("bounded")
	}
	// Deadlines are kept to the second, rounded up: past them for sure.
	time.Sleep(2100 * time.Millisecond)
	long.Login("bounded")
	entries, err := b.Index(ctx, long.M.Index("bounded"))
	if err != nil || len(entries) != 2 {
		t.Fatalf("live entries %v %v", entries, err)
	}
	for _, e := range entries {
		if time.Until(e.Deadline) < 50*time.Minute {
			t.Errorf("entry %s ends in %v, before its session (1h)", e.Member, time.Until(e.Deadline))
		}
	}
}

// GinContribConformance runs gin-contrib/sessions' own store tester
// against the stores factory makes, each case as a subtest of its name.
func GinContribConformance(t *testing.T, factory func(*testing.T) sessions.Store) {
	t.Run("GetSet", func(t *testing.T) { tester.GetSet(t, factory) })
	t.Run("DeleteKey", func(t *testing.T) { tester.DeleteKey(t, factory) })
	t.Run("Flashes", func(t *testing.T) { tester.Flashes(t, factory) })
	t.Run("Clear", func(t *testing.T) { tester.Clear(t, factory) })
	t.Run("Options", func(t *testing.T) { tester.Options(t, factory) })
	t.Run("Many", func(t *testing.T) { tester.Many(t, factory) })
}
