package http

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessiond/sessiond/internal/http/input"
)

const requestIDKey = "request_id"

// observe sets X-Replica and X-Request-ID on every response, then writes the
// request's one log line and its latency metric. It logs the route pattern,
// never the raw URL, cookies or session ids.
func (s *server) observe(c *gin.Context) {
	start := time.Now()
	id := s.ids.Get(c.GetHeader("X-Request-ID"))
	c.Set(requestIDKey, id)
	h := c.Writer.Header()
	h.Set("X-Replica", s.Replica)
	h.Set("X-Request-ID", id)

	c.Next()

	d := time.Since(start)
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	s.Metrics.request(route, c.Request.Method, status, d)

	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("request_id", id),
		slog.String("replica", s.Replica),
		slog.String("method", c.Request.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(d.Microseconds())/1000),
	}
	if sc := trace.SpanContextFromContext(c.Request.Context()); sc.IsValid() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
	}
	if len(c.Errors) > 0 {
		attrs = append(attrs, slog.String("err", c.Errors.Last().Err.Error()))
	}
	s.Logger.LogAttrs(c.Request.Context(), level, "request", attrs...)
}

func validRequestID(v string) bool { return input.ValidRequestID(v) }

// recoverPanic turns a handler's panic into a logged 500 page.
func (s *server) recoverPanic(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler { //nolint:errorlint // sentinel panic value
			panic(v)
		}
		id, _ := c.Get(requestIDKey)
		s.Logger.Error("panic", "request_id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		_ = c.Error(fmt.Errorf("panic: %v", v))
		if !c.Writer.Written() {
			s.errorPage(c, http.StatusInternalServerError, msgInternal)
		}
		c.Abort()
	}()
	c.Next()
}

// securityHeaders are sent with every response; they matter for HTML and
// cost nothing elsewhere. HSTS only when the request came over HTTPS, so a
// plain-HTTP development setup is not locked out.
func (s *server) securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	if s.Proxies.IsHTTPS(c.Request) {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// crossOrigin refuses cross-origin state-changing requests (by
// Sec-Fetch-Site, else Origin against Host). Requests with neither header,
// from programs rather than browsers, pass.
func (s *server) crossOrigin(c *gin.Context) {
	if err := s.cop.Check(c.Request); err != nil {
		_ = c.Error(err)
		s.errorPage(c, http.StatusForbidden, msgCrossOrigin)
	}
}

// limitBody bounds request bodies to MaxBody: a declared larger body is
// refused at once, a longer one fails when read (see readForm).
func (s *server) limitBody(c *gin.Context) {
	if c.Request.ContentLength > MaxBody {
		s.errorPage(c, http.StatusRequestEntityTooLarge, msgTooLarge)
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBody)
}

// private marks answers that depend on the session: never cached, and
// varying by cookie.
func private(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Cookie")
}
