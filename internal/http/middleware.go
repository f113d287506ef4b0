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

// The headers observe reads and writes, in canonical form: assigned to the
// header map directly, they skip the canonicalising of Get and Set (which
// allocates for "X-Request-ID"). On the wire they are the same.
const (
	headerRequestID = "X-Request-Id"
	headerReplica   = "X-Replica"
)

// observe sets X-Replica and X-Request-ID on every response, then writes the
// request's one log line and its latency metric. It logs the route pattern,
// never the raw URL, cookies or session ids.
func (s *server) observe(c *gin.Context) {
	start := time.Now()
	id := s.ids.Get(first(c.Request.Header[headerRequestID]))
	h := c.Writer.Header()
	h[headerReplica] = s.fixed.replica
	h[headerRequestID] = []string{id}

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
	ctx := c.Request.Context()
	if !s.requestLog.Enabled(ctx, level) {
		return // build nothing for a line the level drops
	}
	if s.lines != nil && len(c.Errors) == 0 {
		var traceID string
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			traceID = sc.TraceID().String()
		}
		if s.lines.write(level, id, c.Request.Method, route, status, d, traceID) {
			return
		}
	}
	// Five attributes fit in a log record without a slice of their own;
	// the replica is bound to requestLog once (NewServer).
	var buf [7]slog.Attr
	attrs := append(buf[:0],
		slog.String("request_id", id),
		slog.String("method", c.Request.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(d.Microseconds())/1000),
	)
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
	}
	if len(c.Errors) > 0 {
		attrs = append(attrs, slog.String("err", c.Errors.Last().Err.Error()))
	}
	s.requestLog.LogAttrs(ctx, level, "request", attrs...)
}

// first is a header's first value, "" when it has none.
func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

// requestID is the id observe gave the request (as sent in X-Request-ID).
func requestID(c *gin.Context) string { return first(c.Writer.Header()[headerRequestID]) }

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
		s.Logger.Error("panic", "request_id", requestID(c), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
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
	h["Content-Security-Policy"] = s.fixed.csp
	h["X-Content-Type-Options"] = s.fixed.nosniff
	h["Referrer-Policy"] = s.fixed.referrer
	h["X-Frame-Options"] = s.fixed.frames
	if s.Proxies.IsHTTPS(c.Request) {
		h["Strict-Transport-Security"] = s.fixed.hsts
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
	if c.Request.Body != http.NoBody { // net/http's body of a request without one: nothing to bound
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBody)
	}
}

// private marks answers that depend on the session: never cached, and
// varying by cookie.
func (s *server) private(c *gin.Context) {
	h := c.Writer.Header()
	h["Cache-Control"] = s.fixed.noStore
	if len(h["Vary"]) == 0 {
		h["Vary"] = s.fixed.varyCookie
	} else {
		h["Vary"] = append(h["Vary"], "Cookie")
	}
}
