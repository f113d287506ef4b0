package redisstore

import (
	"net/http"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

// WithWait is strict: with no replica to acknowledge, a login is a 503
// (never a silent success), and a session is still usable for reads and
// data changes, which are not waited for.
func TestWaitWithoutReplicaFailsLoginsOnly(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	plain := New(srv.Client(t))
	prefix := redistest.Prefix(t)
	c := sessiontest.NewApp(t, sessiontest.MustManager(t, plain, prefix, nil)).Login("ann")
	a := sessiontest.NewApp(t, sessiontest.MustManager(t, WithWait(plain, 1, 50*time.Millisecond), prefix, nil))
	start := time.Now()
	if rec, set := a.Do("POST", "/login/bob", ""); rec.Code != http.StatusServiceUnavailable || set != "" {
		t.Errorf("login without a replica: %d, cookie %q", rec.Code, set)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > time.Second {
		t.Errorf("the failed login took %v, want about WAIT's 50ms", d)
	}
	if rec, _ := a.Do("POST", "/incr/apples", c); rec.Code != 200 || a.Body("GET", "/get/apples", c) != "1" {
		t.Errorf("a data change was waited for: %d", rec.Code)
	}
	if rec, _ := a.Do("POST", "/logout", c); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("logout without a replica: %d, want 503", rec.Code)
	}
	// WAIT 0 asks for no replica: everything passes
	z := sessiontest.NewApp(t, sessiontest.MustManager(t, WithWait(plain, 0, 50*time.Millisecond), prefix, nil))
	c2 := z.Login("bob")
	if _, set := z.Do("POST", "/login/carl", c2); set == "" || z.Body("GET", "/user", set) != "carl" {
		t.Error("regenerate with WAIT 0 failed")
	}
}
