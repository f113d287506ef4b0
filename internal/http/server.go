// Package http is the service's web layer: router, middleware, handlers,
// error pages and metrics. It reads no environment; cmd/server wires it.
package http

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessiond/sessiond/internal/http/input"
	"github.com/sessiond/sessiond/internal/ratelimit"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/templates"
)

// MaxBody bounds request bodies, in bytes. The limits of the user's data
// are userdata's.
const MaxBody = 8 << 10

const (
	maxTries   = 3   // of a change that met a concurrent one
	retryAfter = "2" // seconds, sent with 503s
)

// Config is what NewServer needs.
type Config struct {
	Sessions *session.Manager
	Pages    *templates.Pages
	Metrics  *Metrics
	Logger   *slog.Logger
	// LogJSON, when set, is where Logger's JSON handler writes: each
	// request's line is then written there directly, in that handler's
	// format, without going through it (see requestLines).
	LogJSON io.Writer
	// Replica names this process in X-Replica and in the footer.
	Replica string
	// Proxies are the peers whose X-Forwarded-* headers are believed.
	Proxies Proxies
	// Draining reports that a shutdown has started (/readyz answers 503).
	Draining func() bool
	// LoginLimiter counts POST /login attempts per client IP (Gin's
	// ClientIP, through Proxies); nil allows every attempt.
	LoginLimiter ratelimit.Limiter
	// Tracer, when not nil, traces every request but health checks,
	// metrics and the stylesheet. nil installs nothing (tracing off).
	Tracer trace.TracerProvider
}

type server struct {
	Config
	cop *http.CrossOriginProtection
	ids *input.RequestIDs
	// requestLog writes the one line per request: Logger with the
	// replica bound once.
	requestLog *slog.Logger
	lines      *requestLines // nil: request lines go through requestLog
	fixed      fixedHeaders
	to         redirects
}

// NewServer returns the service's HTTP handler.
func NewServer(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Draining == nil {
		cfg.Draining = func() bool { return false }
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.LoginLimiter == nil {
		cfg.LoginLimiter = ratelimit.Off{}
	}
	s := &server{
		Config: cfg, cop: http.NewCrossOriginProtection(), ids: input.NewRequestIDs(),
		requestLog: cfg.Logger.With(slog.String("replica", cfg.Replica)),
		fixed:      newFixedHeaders(cfg.Replica), to: newRedirects(),
	}

	if cfg.LogJSON != nil {
		s.lines = newRequestLines(cfg.LogJSON, cfg.Replica)
	}

	gin.SetMode(gin.ReleaseMode) // gin's debug mode prints to stdout
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Redirects for /path/ and case variants would bypass the middleware
	// (no X-Replica, no log line); such paths get the 404 page instead.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.ForwardedByClientIP = true
	r.RemoteIPHeaders = []string{"X-Forwarded-For", "X-Real-IP"}
	if err := r.SetTrustedProxies(cfg.Proxies.Strings()); err != nil {
		// Proxies are validated prefixes, so this does not happen; if it
		// did, trusting nobody is the safe way to go on.
		cfg.Logger.Error("trusted proxies rejected; trusting none", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
	s.routes(r)
	return r
}
