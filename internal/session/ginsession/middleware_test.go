package ginsession_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/filestore"
	"github.com/sessiond/sessiond/internal/session/ginsession"
	"github.com/sessiond/sessiond/internal/session/redisstore"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

// pendingApp is a gin app whose handlers leave their change pending (no
// Save) for the middleware to commit, and answer as if it had worked. Its
// error answer names the failure, so that a test can tell whose answer
// went out.
//
// /set/redirect calls outage (when not nil) after leaving its change.
func pendingApp(_ *testing.T, m *session.Manager, outage func()) *gin.Engine {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(ginsession.Middleware(m, func(c *gin.Context, err error) {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, session.ErrLimit):
			code = http.StatusUnprocessableEntity
		case session.IsUnavailable(err):
			code = http.StatusServiceUnavailable
		}
		c.String(code, "commit failed: %v", err)
	}))
	r.POST("/login", func(c *gin.Context) {
		ginsession.From(c).Login("ann")
		c.String(http.StatusOK, "ok")
	})
	// The store refuses the increment (5 is over its maximum 3) when the
	// middleware commits it: the handler cannot know.
	over := func(c *gin.Context) { ginsession.From(c).Incr("n", 5, 3) }
	r.POST("/over/redirect", func(c *gin.Context) {
		over(c)
		c.Redirect(http.StatusSeeOther, "/done")
	})
	r.POST("/over/body", func(c *gin.Context) {
		over(c)
		c.String(http.StatusOK, "handler says done")
	})
	r.POST("/over/location", func(c *gin.Context) { // a Location set before the answer starts
		over(c)
		c.Header("Location", "/done")
		c.Status(http.StatusSeeOther)
		c.Writer.WriteHeaderNow()
	})
	r.POST("/over/silent", over) // writes nothing: committed after the handler
	r.POST("/set/redirect", func(c *gin.Context) {
		ginsession.From(c).Set("theme", "dark")
		if outage != nil {
			outage()
		}
		c.Redirect(http.StatusSeeOther, "/done")
	})
	r.GET("/n", func(c *gin.Context) { c.String(http.StatusOK, "%d", ginsession.From(c).Int("n")) })
	return r
}

// send serves one request with cookie and returns the recorder and the
// session cookie it set, if any.
func send(h http.Handler, method, path, cookie string) (*httptest.ResponseRecorder, string) {
	req := httptest.NewRequestWithContext(context.Background(), method, path, nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "session" {
			return rec, c.Value
		}
	}
	return rec, ""
}

// wantReplaced checks that a failed commit's answer replaced the
// handler's: the error's status and body, no redirect, nothing the
// handler wrote.
func wantReplaced(t *testing.T, what string, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	// The headers as sent (rec.Header() is the live map, which a handler
	// may still change after the answer went out).
	res := rec.Result()
	body := rec.Body.String()
	if res.StatusCode != status || !strings.HasPrefix(body, "commit failed: ") || strings.Contains(body, "handler says") || res.Header.Get("Location") != "" {
		t.Errorf("%s: %d, Location %q, body %q; want the commit's failure %d, no Location, none of the handler's body",
			what, res.StatusCode, res.Header.Get("Location"), body, status)
	}
}

// TestCommitFailureReplacesTheAnswer: a change the handler left pending is
// committed by the middleware before the first byte of the answer; when
// that commit fails, the error's answer goes out instead of the handler's
// (its 303, its 200 and body, or its silence), on every store.
func TestCommitFailureReplacesTheAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (session.Backend, string)
	}{
		{"filesystem", func(t *testing.T) (session.Backend, string) {
			f, err := filestore.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f, ""
		}},
		{"redis", func(t *testing.T) (session.Backend, string) {
			return redisstore.New(redistest.Start(t).Client(t)), redistest.Prefix(t)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, prefix := tc.open(t)
			app := pendingApp(t, sessiontest.MustManager(t, b, prefix, nil), nil)
			_, c := send(app, "POST", "/login", "")
			if c == "" {
				t.Fatal("login set no cookie")
			}
			for _, path := range []string{"/over/redirect", "/over/location", "/over/body", "/over/silent"} {
				rec, _ := send(app, "POST", path, c)
				wantReplaced(t, path, rec, http.StatusUnprocessableEntity)
			}
			if rec, _ := send(app, "GET", "/n", c); rec.Body.String() != "0" {
				t.Errorf("after refused increments n = %q, want 0", rec.Body.String())
			}
		})
	}
	t.Run("redis down", func(t *testing.T) {
		t.Parallel()
		srv := redistest.Start(t)
		client := redis.NewClient(&redis.Options{
			Addr: srv.Addr, MaxRetries: -1, ContextTimeoutEnabled: true,
			DialTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond,
		})
		t.Cleanup(func() { client.Close() })
		m := sessiontest.MustManager(t, redisstore.New(client), redistest.Prefix(t), func(c *session.Config) {
			c.Timeout = 300 * time.Millisecond
		})
		// The handler stops Redis after the session was loaded: only
		// the middleware's commit meets the outage.
		app := pendingApp(t, m, srv.Stop)
		_, c := send(app, "POST", "/login", "")
		if c == "" {
			t.Fatal("login set no cookie")
		}
		rec, _ := send(app, "POST", "/set/redirect", c)
		wantReplaced(t, "a change committed after Redis went down", rec, http.StatusServiceUnavailable)
	})
}
