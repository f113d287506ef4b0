package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	web "github.com/sessiond/sessiond/internal/http"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/templates"
)

const usage = `usage: server              serve (configured by environment variables, see README)
       server healthcheck  exit 0 if /healthz on ADDR's port answers 200, else 1
`

// usageError is a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg + "\n" + usage }

// ExitCode: configuration and usage errors exit 2, like flag parsing.
func (e *usageError) ExitCode() int  { return 2 }
func (e *configError) ExitCode() int { return 2 }

// exitCode is the process status for an error of run.
func exitCode(err error) int {
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}

// run is the whole program: it owns signals, configuration, logging,
// wiring, serving and graceful shutdown. It returns when ctx ends or on
// SIGINT/SIGTERM, after the shutdown.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		switch args[1] {
		case "healthcheck":
			return healthcheck(ctx, getenv)
		case "-h", "-help", "--help", "help":
			_, err := io.WriteString(stdout, usage)
			return err
		default:
			return &usageError{msg: fmt.Sprintf("unknown argument %q", args[1])}
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stdout)
	replica := cfg.ReplicaID
	if replica == "" {
		if replica, err = os.Hostname(); err != nil || replica == "" {
			replica = "unknown"
		}
	}

	backend, keys, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()

	metrics := web.NewMetrics()
	proxies := web.NewProxies(cfg.TrustedProxies)
	sessions, err := session.NewManager(session.Config{
		Backend:     backend,
		Keys:        keys,
		KeyPrefix:   cfg.RedisKeyPrefix,
		Permanent:   cfg.Permanent,
		Lifetime:    cfg.Lifetime,
		IdleTimeout: cfg.IdleTimeout,
		Timeout:     cfg.RedisTimeout,
		Secure:      cookieSecure(cfg.CookieSecure, proxies),
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

	var draining atomic.Bool
	srv := &http.Server{
		Handler: web.NewServer(web.Config{
			Sessions: sessions, Pages: pages, Metrics: metrics, Logger: log,
			Replica: replica, Proxies: proxies, Draining: draining.Load,
			LoginRateLimit: cfg.LoginRateLimit,
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
		"login_rate_limit", cfg.LoginRateLimit, "login_rate_limit_enforced", false,
		"tracing", false, "otel_endpoint_set", cfg.OTLPEndpoint != "")
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stop() // from here a second signal ends the process at once

	// Balancers see /readyz fail and stop sending; requests that still
	// come are served until the listener closes.
	log.Info("shutting down", "delay", cfg.ShutdownDelay.String(), "timeout", cfg.ShutdownTimeout.String())
	draining.Store(true)
	srv.SetKeepAlivesEnabled(false)
	time.Sleep(cfg.ShutdownDelay)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown timeout: cutting the requests still running", "err", err)
		_ = srv.Close()
	}
	<-served
	log.Info("stopped")
	return nil
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
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

// openStore opens the configured session store and returns it with the
// signing keys and what closes it.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (session.Backend, [][]byte, func(), error) {
	if cfg.Store == "redis" {
		client := cfg.Redis.Client()
		pctx, cancel := context.WithTimeout(ctx, cfg.RedisTimeout)
		defer cancel()
		if err := client.Ping(pctx).Err(); err != nil {
			// Not fatal: /readyz answers 503 until Redis does.
			log.Warn("redis does not answer yet", "err", err)
		}
		log.Info("session store", "store", "redis", "topology", cfg.Redis.Kind(), "key_prefix", cfg.RedisKeyPrefix)
		return session.NewRedis(client), cfg.Secrets, func() { _ = client.Close() }, nil
	}
	dir, err := filepath.Abs(cfg.SessionDir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("SESSION_DIR: %w", err)
	}
	files, err := session.NewFiles(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	keys := cfg.Secrets
	if keys == nil {
		key, err := fileSecret(dir)
		if err != nil {
			_ = files.Close()
			return nil, nil, nil, err
		}
		keys = [][]byte{key}
	}
	log.Info("session store", "store", "filesystem", "dir", dir)
	return files, keys, func() { _ = files.Close() }, nil
}

// healthcheck is `server healthcheck`, for a container HEALTHCHECK with no
// shell or curl: nil when /healthz answers 200.
func healthcheck(ctx context.Context, getenv func(string) string) error {
	u, err := healthcheckURL(getenv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", u, resp.Status)
	}
	return nil
}
