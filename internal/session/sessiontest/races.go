package sessiontest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/session"
)

// The engine's promises under races and abuse: each test here failed on
// the engine before it was made to hold (see the commits that added them).

// listingNeverHidesASession: 300 logins of one name while another request
// lists that name; then revoke-all ends every one of them. A listing that
// took an entry whose session was not written yet for a stale one, and
// dropped it, left sessions that revoke-all could not find.
func listingNeverHidesASession(t *testing.T, b session.Backend, prefix string) {
	m := MustManager(t, b, prefix, func(c *session.Config) { c.MaxPerUser, c.Timeout = 1000, queueTimeout })
	a := NewApp(t, m)
	ctx := context.Background()
	const n = 300
	cookies := make([]string, n)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	listed := 0
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := m.List(ctx, "crowd", nil); err == nil {
				listed++
			}
		}
	})
	var logins sync.WaitGroup
	errs := make(chan string, n)
	for w := range 4 {
		logins.Go(func() {
			for i := w; i < n; i += 4 {
				rec, c := a.Do("POST", "/login/crowd", "")
				if rec.Code != http.StatusOK || c == "" || c == "-" {
					errs <- fmt.Sprintf("login %d: %d", i, rec.Code)
					continue
				}
				cookies[i] = c
			}
		})
	}
	logins.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	t.Logf("%d listings ran during the logins", listed)
	list, err := m.List(ctx, "crowd", nil)
	if err != nil || len(list) != n {
		t.Errorf("after the logins %d sessions listed (%v), want %d", len(list), err, n)
	}
	if k, err := m.RevokeAll(ctx, "crowd"); err != nil || k != n {
		t.Errorf("revoke-all ended %d (%v), want %d", k, err, n)
	}
	survivors := 0
	for _, c := range cookies {
		if c != "" && a.Body("GET", "/user", c) != "" {
			survivors++
		}
	}
	if survivors > 0 {
		t.Errorf("%d of %d sessions survived revoke-all", survivors, n)
	}
}

// doubleClickedLoginKeepsTheData: two logins at once with the same cookie
// (a double-clicked form). Whichever order the browser applies the two
// answers' Set-Cookie in, it ends up in a session holding the data.
func doubleClickedLoginKeepsTheData(t *testing.T, b session.Backend, prefix string) {
	a := NewApp(t, MustManager(t, b, prefix, nil))
	for trial := range 10 {
		c := a.Login("ann")
		a.Do("POST", "/set/theme/dark", c)
		for range 3 {
			a.Do("POST", "/incr/apples", c)
		}
		var sets [2]string
		var codes [2]int
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				rec, set := a.Do("POST", "/login/ann", c)
				sets[i], codes[i] = set, rec.Code
			})
		}
		wg.Wait()
		for _, order := range [][2]int{{0, 1}, {1, 0}} {
			jar := c
			for _, i := range order {
				switch sets[i] {
				case "":
				case "-":
					jar = ""
				default:
					jar = sets[i]
				}
			}
			if got := a.Body("GET", "/get/theme", jar); got != "dark" || a.Body("GET", "/get/apples", jar) != "3" {
				t.Fatalf("trial %d: answers %v / cookies %q, %q: applied in order %v the browser holds theme %q, apples %q",
					trial, codes, sets[0], sets[1], order, got, a.Body("GET", "/get/apples", jar))
			}
		}
	}
}

// changeLosingToLogoutStaysLoggedOut: a change that met a concurrent
// change re-reads the session to retry; if a logout came in between, the
// retry finds the session gone: nothing is stored, no cookie is issued.
func changeLosingToLogoutStaysLoggedOut(t *testing.T, b session.Backend, prefix string) {
	m := MustManager(t, b, prefix, nil)
	a := NewApp(t, m)
	c := a.Login("ann")
	s := Load(t, m, c)
	a.Do("POST", "/set/theme/dark", c) // the concurrent change
	s.Set("theme", "light")
	if err := s.Save(); !errors.Is(err, session.ErrConflict) {
		t.Fatalf("save against a concurrent change: %v, want a conflict", err)
	}
	a.Do("POST", "/logout", c) // and then a logout
	if err := s.Reload(); !errors.Is(err, session.ErrGone) {
		t.Fatalf("reload after logout: %v, want ErrGone", err)
	}
	if !s.IsNew() || s.User() != "" {
		t.Fatalf("reload after logout left a session of %q", s.User())
	}
	// Its commit (the adapter's, before the answer) stores nothing and
	// expires the dead cookie.
	rec := httptest.NewRecorder()
	s.SetWriter(rec)
	if err := s.Finish(); err != nil {
		t.Fatalf("finish: %v", err)
	}
	expired := false
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "session" && ck.MaxAge >= 0 {
			t.Errorf("the commit after the lost retry issued a cookie %q", ck.Value)
		}
		expired = expired || ck.Name == "session" && ck.MaxAge < 0
	}
	if !expired {
		t.Error("the dead cookie was not expired")
	}
	if !s.IsNew() {
		t.Error("the commit after the lost retry stored a session")
	}
}

// userSessionsAreBounded: a name keeps at most MaxPerUser live sessions; a
// login beyond it ends the least recently used one. Listing and revoking
// cost the same whatever the history of the name.
func userSessionsAreBounded(t *testing.T, b session.Backend, prefix string) {
	m := MustManager(t, b, prefix, func(c *session.Config) { c.MaxPerUser = 5 })
	a := NewApp(t, m)
	ctx := context.Background()
	var cookies []string
	for range 5 {
		cookies = append(cookies, a.Login("max"))
	}
	for i := range 7 {
		cookies = append(cookies, a.Login("max"))
		list, err := m.List(ctx, "max", nil)
		if err != nil || len(list) != 5 {
			t.Fatalf("after login %d: %d listed (%v), want 5", 6+i, len(list), err)
		}
	}
	for i, c := range cookies {
		alive := a.Body("GET", "/user", c) == "max"
		if want := i >= 7; alive != want {
			t.Errorf("session %d (of 12, at most 5 kept): alive %v, want %v", i, alive, want)
		}
	}
	// Revoke one by id: found among the five; the others live on.
	list, _ := m.List(ctx, "max", Load(t, m, cookies[11]))
	var target session.Info
	for _, in := range list {
		if !in.Current {
			target = in
		}
	}
	if ok, err := m.Revoke(ctx, "max", target.ID); !ok || err != nil {
		t.Fatalf("revoke one: %v %v", ok, err)
	}
	if after, _ := m.List(ctx, "max", nil); len(after) != 4 {
		t.Errorf("after revoking one: %d listed, want 4", len(after))
	}
}

// revokeAllRacingReloginLeavesNothing: revoke-all while the same session
// logs in again (a rename): the renamed session must end too.
func revokeAllRacingReloginLeavesNothing(t *testing.T, b session.Backend, prefix string) {
	m := MustManager(t, b, prefix, nil)
	a := NewApp(t, m)
	ctx := context.Background()
	for trial := range 40 {
		user := "race" + strconv.Itoa(trial)
		c := a.Login(user)
		a.Do("POST", "/set/mark/kept", c)
		var wg sync.WaitGroup
		var renamed string
		wg.Go(func() { _, renamed = a.Do("POST", "/login/"+user, c) })
		wg.Go(func() {
			if _, err := m.RevokeAll(ctx, user); err != nil {
				t.Errorf("revoke-all: %v", err)
			}
		})
		wg.Wait()
		// A login that came after revoke-all is a new session (no data);
		// the old session, or what it was renamed to, must be gone.
		for _, ck := range []string{c, renamed} {
			if ck != "" && ck != "-" && a.Body("GET", "/get/mark", ck) == "kept" {
				t.Fatalf("trial %d: a session survived revoke-all racing its re-login", trial)
			}
		}
	}
}

// logoutRacingReloginLeavesNothing: a logout and a re-login of one
// session at once: whichever wins, the logout ends the session, renamed or
// not.
func logoutRacingReloginLeavesNothing(t *testing.T, b session.Backend, prefix string) {
	a := NewApp(t, MustManager(t, b, prefix, nil))
	for trial := range 40 {
		c := a.Login("ann")
		a.Do("POST", "/set/mark/kept", c)
		var wg sync.WaitGroup
		var renamed string
		var code int
		wg.Go(func() {
			rec, set := a.Do("POST", "/login/ann", c)
			renamed, code = set, rec.Code
		})
		wg.Go(func() { a.Do("POST", "/logout", c) })
		wg.Wait()
		// A login that came after the logout is a new session (no data);
		// a renamed one must have ended with the logout.
		if renamed != "" && renamed != "-" && a.Body("GET", "/get/mark", renamed) == "kept" {
			t.Fatalf("trial %d: the re-login's session (answer %d) survived the logout of its old id", trial, code)
		}
	}
}

// panicCommitsNothing: a handler that panics after changing the session
// answers 500, and nothing of its change is stored.
func panicCommitsNothing(t *testing.T, b session.Backend, prefix string) {
	a := NewApp(t, MustManager(t, b, prefix, nil))
	c := a.Login("ann")
	rec, set := a.Do("POST", "/panic/theme/boom", c)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("panicking handler answered %d", rec.Code)
	}
	if set != "" {
		t.Errorf("panicking handler's answer set a cookie %q", set)
	}
	if got := a.Body("GET", "/get/theme", c); got == "boom" {
		t.Error("the panicking handler's change was committed")
	}
	if a.Body("GET", "/user", c) != "ann" {
		t.Error("the session did not survive the panic")
	}
}

// countersAreExact: increments are exact integers up to MaxCounter, and
// refused beyond it (not rounded).
func countersAreExact(t *testing.T, b session.Backend, prefix string) {
	m := MustManager(t, b, prefix, nil)
	c := NewApp(t, m).Login("ann")
	big := int64(session.MaxCounter - 1)
	for _, step := range []struct {
		by   int64
		want int64
		err  error
	}{
		{big, big, nil},
		{1, session.MaxCounter, nil},
		{1, session.MaxCounter, session.ErrLimit},
		{-big, 1, nil},
		{session.MaxCounter + 1, 1, session.ErrLimit},
	} {
		s := Load(t, m, c)
		s.Incr("n", step.by, 0)
		if err := s.Save(); !errors.Is(err, step.err) {
			t.Fatalf("incr by %d: %v, want %v", step.by, err, step.err)
		}
		if got := Load(t, m, c).Int("n"); got != step.want {
			t.Fatalf("after incr by %d: %d, want exactly %d", step.by, got, step.want)
		}
	}
}

// skewedClockDoesNotEndSessions: a replica whose clock is ahead sees a
// live session as live (the store's clock decides), and deletes nothing.
func skewedClockDoesNotEndSessions(t *testing.T, b session.Backend, prefix string) {
	cfg := func(offset time.Duration) func(*session.Config) {
		return func(c *session.Config) {
			c.IdleTimeout, c.TouchInterval, c.Lifetime = 2*time.Second, 1500*time.Millisecond, time.Hour
			c.Now = func() time.Time { return time.Now().Add(offset) }
		}
	}
	honest := NewApp(t, MustManager(t, b, prefix, cfg(0)))
	fast := NewApp(t, MustManager(t, b, prefix, cfg(time.Second)))
	// Judged from the login's own start: a read that starts later than
	// 1.8s after it proves nothing on a loaded machine, so it is retried.
	for tries := 0; ; tries++ {
		if tries == 10 {
			t.Fatal("machine too loaded to judge a 2s idle timeout in 10 tries")
		}
		start := time.Now()
		c := honest.Login("ann")
		time.Sleep(1200 * time.Millisecond)
		got := fast.Body("GET", "/user", c)
		if time.Since(start) > 1800*time.Millisecond {
			continue
		}
		if got != "ann" {
			t.Fatalf("a replica 1s ahead took a session used 1.2s ago (idle 2s) for ended: %q", got)
		}
		if got := honest.Body("GET", "/user", c); got != "ann" {
			t.Fatalf("after the fast replica's read the session is gone for everyone: %q", got)
		}
		return
	}
}
