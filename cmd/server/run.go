package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/trace"

	web "github.com/sessiond/sessiond/internal/http"
	"github.com/sessiond/sessiond/internal/logbuf"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/templates"
)

// run is the whole program: it configures, wires and serves, and returns
// when ctx ends or on SIGINT/SIGTERM, after the shutdown (drain.go). The
// store (store.go), the login limiter (limiter.go) and tracing
// (tracing.go) are built in files of their own.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		return command(ctx, args[1], getenv, stdout)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	// The log leaves through a write-behind buffer: requests do not wait
	// for its writes, and under load many lines leave in one. It is
	// written out when run returns, the shutdown's lines included.
	out := logbuf.New(stdout)
	defer out.Close()
	log := newLogger(cfg, out)
	routeRedisLogs(log)
	replica := cfg.ReplicaID
	if replica == "" {
		if replica, err = os.Hostname(); err != nil || replica == "" {
			replica = "unknown"
		}
	}

	tp, err := newTracing(ctx, cfg, replica, log)
	if err != nil {
		return err
	}
	defer flushTracing(tp, log)
	metrics := web.NewMetrics()
	foreign := foreignReporter(metrics, log)
	st, err := openStore(ctx, cfg, log, foreign)
	if err != nil {
		return err
	}
	defer st.close()
	// Replicas that disagree on the keys log each other out: the
	// fingerprints show it without showing the keys.
	fingerprints := keyFingerprints(st.keys)
	log.Info("signing keys", "signing", fingerprints[0], "verifying", fingerprints)

	var tracer trace.TracerProvider // a nil *TracerProvider must stay a nil interface
	if tp != nil {
		tracer = tp
	}
	if st.redis != nil {
		metrics.WatchRedisPool(st.redis)
		if tp != nil {
			if err := traceRedis(st.redis, tp); err != nil {
				return err
			}
		}
	}
	proxies := web.NewProxies(cfg.TrustedProxies)
	sessions, err := session.NewManager(session.Config{
		Backend:   st.backend,
		Keys:      st.keys,
		KeyPrefix: cfg.RedisKeyPrefix,
		Cookie: session.Cookie{
			Name:       web.CookieName,
			Persistent: cfg.Permanent,
			Secure:     cookieSecure(cfg.CookieSecure, proxies),
		},
		Lifetime:    cfg.Lifetime,
		IdleTimeout: cfg.IdleTimeout,
		MaxPerUser:  cfg.MaxPerUser,
		Timeout:     cfg.StoreTimeout,
		Observer:    metrics,
		Logger:      log,
	})
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	pages, err := templates.Parse()
	if err != nil {
		return err
	}
	shutdown := newDrain()
	srv := &http.Server{
		Handler: web.NewServer(web.Config{
			Sessions: sessions, Pages: pages, Metrics: metrics, Logger: log,
			Replica: replica, Proxies: proxies, Draining: shutdown.Draining,
			LoginLimiter: loginLimiter(cfg, st.redis, foreign), Tracer: tracer, LogJSON: jsonLog(cfg, out),
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("listening", "addr", ln.Addr().String(), "replica", replica, "store", cfg.Store,
		"permanent", cfg.Permanent, "lifetime", cfg.Lifetime.String(), "idle_timeout", cfg.IdleTimeout.String(),
		"login_rate_limit", cfg.LoginRateLimit, "tracing", tp != nil, "otel_endpoint", endpointHost(cfg.OTLPEndpoint),
		"otel_protocol", cfg.OTLPProtocol)
	return shutdown.serve(ctx, srv, ln, cfg, log, stop)
}

// jsonLog is where the JSON log is written, for the request lines to go
// there directly; nil with LOG_FORMAT=text.
func jsonLog(cfg config, out io.Writer) io.Writer {
	if cfg.LogFormat == "text" {
		return nil
	}
	return out
}

// foreignReporter counts what the store and the limiter met under the
// service's names that they did not write, and says so in the log at most
// once a minute.
func foreignReporter(metrics *web.Metrics, log *slog.Logger) func(record, reason string) {
	var last atomic.Int64
	return func(record, reason string) {
		metrics.ForeignRecord(record, reason)
		now := time.Now().UnixNano()
		if prev := last.Load(); now-prev >= int64(time.Minute) && last.CompareAndSwap(prev, now) {
			log.Warn("redis: a key under the service's names holds what this release did not write; it was treated as absent. Is a release that does not share this one's storage layouts running? (sessiond_store_foreign_records_total)",
				"record", record, "reason", reason)
		}
	}
}

// cookieSecure decides the cookie's Secure flag per COOKIE_SECURE.
func cookieSecure(mode string, proxies web.Proxies) func(*http.Request) bool {
	switch mode {
	case "true":
		return func(*http.Request) bool { return true }
	case "false":
		return func(*http.Request) bool { return false }
	default:
		return proxies.IsHTTPS
	}
}
