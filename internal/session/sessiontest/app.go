// Package sessiontest is the session engine's contract suite: every store
// (Backend) runs it against a real instance of itself, as gin-contrib's
// stores run its tester. Run runs it all; the helpers (MustManager, NewApp,
// Load) serve the stores' own tests too.
package sessiontest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/ginsession"
)

// Key is the signing key of MustManager's managers.
var Key = bytes.Repeat([]byte("k"), 32)

// Open opens a fresh, empty backend for one test and returns it with the
// key prefix the test's managers must use. It registers its own cleanup.
type Open func(t testing.TB) (b session.Backend, prefix string)

// MustManager returns a Manager on b signing with Key, changed by mod.
// Its store calls may take 10 s (the engine's default is 1 s): the suite
// proves what the engine guarantees, not how fast a loaded machine is,
// and a store call past its timeout answers 503. Tests of timeouts set
// their own.
func MustManager(tb testing.TB, b session.Backend, prefix string, mod func(*session.Config)) *session.Manager {
	tb.Helper()
	cfg := session.Config{Backend: b, Keys: [][]byte{Key}, KeyPrefix: prefix, Timeout: 10 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	m, err := session.NewManager(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// Load runs Manager.Load for a request carrying cookie, with a recorder as
// the session's response.
func Load(t testing.TB, m *session.Manager, cookie string) *session.Session {
	t.Helper()
	req := httptest.NewRequestWithContext(context.Background(), "GET", "/", nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	s, err := m.Load(req)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	s.SetWriter(httptest.NewRecorder())
	return s
}

// App is a small gin app on the engine's middleware.
type App struct {
	t      testing.TB
	M      *session.Manager
	Router *gin.Engine
}

// NewApp serves m: GET /get/:k, POST /set/:k/:v, POST /incr/:k (max 1000),
// POST /panic/:k/:v (sets, then panics: 500), POST /login/:u, POST
// /logout, GET /user, GET /nothing. Session errors answer 503 (store), 401
// (gone), 422 (limit) or 409, with Retry-After.
func NewApp(t testing.TB, m *session.Manager) *App {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, _ any) {
		c.AbortWithStatus(http.StatusInternalServerError)
	}))
	r.Use(ginsession.Middleware(m, func(c *gin.Context, err error) {
		code := http.StatusServiceUnavailable
		switch {
		case session.IsUnavailable(err):
		case err == session.ErrGone:
			code = http.StatusUnauthorized
		default:
			code = http.StatusConflict
			if err == session.ErrLimit {
				code = http.StatusUnprocessableEntity
			}
		}
		c.Header("Retry-After", "1")
		c.String(code, err.Error())
	}))
	r.GET("/get/:k", func(c *gin.Context) {
		c.String(200, "%v", ginsession.From(c).Get(c.Param("k")))
	})
	r.POST("/set/:k/:v", func(c *gin.Context) {
		ginsession.From(c).Set(c.Param("k"), c.Param("v"))
		c.String(200, "ok")
	})
	r.POST("/panic/:k/:v", func(c *gin.Context) {
		ginsession.From(c).Set(c.Param("k"), c.Param("v"))
		panic("handler bug")
	})
	r.POST("/incr/:k", func(c *gin.Context) {
		ginsession.From(c).Incr(c.Param("k"), 1, 1000)
		c.String(200, "ok")
	})
	r.POST("/login/:u", func(c *gin.Context) {
		ginsession.From(c).Login(c.Param("u"))
		c.String(200, "ok")
	})
	r.POST("/logout", func(c *gin.Context) {
		ginsession.From(c).Destroy()
		c.String(200, "ok")
	})
	r.GET("/user", func(c *gin.Context) { c.String(200, ginsession.From(c).User()) })
	r.GET("/nothing", func(c *gin.Context) { c.String(200, "nothing") })
	return &App{t: t, M: m, Router: r}
}

// Do sends a request with cookie (may be "") and returns the response and
// the session cookie it set ("" if none, "-" if it expired it).
func (a *App) Do(method, path, cookie string) (*httptest.ResponseRecorder, string) {
	req := httptest.NewRequestWithContext(context.Background(), method, path, nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	rec := httptest.NewRecorder()
	a.Router.ServeHTTP(rec, req)
	set := ""
	for _, c := range rec.Result().Cookies() {
		if c.Name == "session" {
			set = c.Value
			if c.MaxAge < 0 {
				set = "-"
			}
		}
	}
	return rec, set
}

// Login creates a session for user and returns its cookie.
func (a *App) Login(user string) string {
	a.t.Helper()
	rec, c := a.Do("POST", "/login/"+user, "")
	if rec.Code != 200 || c == "" || c == "-" {
		a.t.Fatalf("login: %d %q cookie %q", rec.Code, rec.Body.String(), c)
	}
	return c
}

// Body sends a request and returns its trimmed body.
func (a *App) Body(method, path, cookie string) string {
	rec, _ := a.Do(method, path, cookie)
	return strings.TrimSpace(rec.Body.String())
}

// WaitUntil polls cond every 20ms for at most d, failing t after.
func WaitUntil(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StoreKey is the store key of the session cookie names, failing t when
// the cookie is not one of m's.
func StoreKey(t testing.TB, m *session.Manager, cookie string) string {
	t.Helper()
	k, ok := m.StoreKey(cookie)
	if !ok {
		t.Fatalf("cookie %q is not signed by the manager's keys", cookie)
	}
	return k
}
