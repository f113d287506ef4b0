package session

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessiond/sessiond/internal/redistest"
)

var testKey = bytes.Repeat([]byte("k"), 32)

// backendCase is one store every engine test runs against.
type backendCase struct {
	name string
	open func(t *testing.T) (Backend, string) // backend, key prefix
}

func backends(t *testing.T) []backendCase {
	return []backendCase{
		{"redis", func(t *testing.T) (Backend, string) {
			srv := redistest.Start(t)
			return NewRedis(srv.Client(t)), redistest.Prefix(t)
		}},
		{"files", func(t *testing.T) (Backend, string) {
			f, err := NewFiles(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f, ""
		}},
	}
}

func mustManager(t testing.TB, b Backend, prefix string, mod func(*Config)) *Manager {
	t.Helper()
	cfg := Config{Backend: b, Keys: [][]byte{testKey}, KeyPrefix: prefix}
	if mod != nil {
		mod(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// app is a small gin app on the engine's middleware, for tests.
type app struct {
	t      *testing.T
	m      *Manager
	router *gin.Engine
}

func newApp(t *testing.T, m *Manager) *app {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(m.Middleware("session", func(c *gin.Context, err error) {
		code := http.StatusServiceUnavailable
		switch {
		case IsUnavailable(err):
		case err == ErrGone:
			code = http.StatusUnauthorized
		default:
			code = http.StatusConflict
			if err == ErrLimit {
				code = http.StatusUnprocessableEntity
			}
		}
		c.Header("Retry-After", "1")
		c.String(code, err.Error())
	}))
	r.GET("/get/:k", func(c *gin.Context) {
		c.String(200, "%v", From(c).Get(c.Param("k")))
	})
	r.POST("/set/:k/:v", func(c *gin.Context) {
		From(c).Set(c.Param("k"), c.Param("v"))
		c.String(200, "ok")
	})
	r.POST("/incr/:k", func(c *gin.Context) {
		From(c).Incr(c.Param("k"), 1, 1000)
		c.String(200, "ok")
	})
	r.POST("/login/:u", func(c *gin.Context) {
		From(c).Login(c.Param("u"))
		c.String(200, "ok")
	})
	r.POST("/logout", func(c *gin.Context) {
		From(c).Destroy()
		c.String(200, "ok")
	})
	r.GET("/user", func(c *gin.Context) { c.String(200, From(c).User()) })
	r.GET("/nothing", func(c *gin.Context) { c.String(200, "nothing") })
	return &app{t: t, m: m, router: r}
}

// do sends a request with cookie (may be "") and returns the response and
// the session cookie it set ("" if none, "-" if it expired it).
func (a *app) do(method, path, cookie string) (*httptest.ResponseRecorder, string) {
	req := httptest.NewRequestWithContext(context.Background(), method, path, nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	rec := httptest.NewRecorder()
	a.router.ServeHTTP(rec, req)
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

// login creates a session for user and returns its cookie.
func (a *app) login(user string) string {
	a.t.Helper()
	rec, c := a.do("POST", "/login/"+user, "")
	if rec.Code != 200 || c == "" || c == "-" {
		a.t.Fatalf("login: %d %q cookie %q", rec.Code, rec.Body.String(), c)
	}
	return c
}

func (a *app) body(method, path, cookie string) string {
	rec, _ := a.do(method, path, cookie)
	return strings.TrimSpace(rec.Body.String())
}

func waitUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
