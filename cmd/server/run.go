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
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sessiond/sessiond/internal/redisconn"
	"github.com/sessiond/sessiond/internal/session/filestore"
	"github.com/sessiond/sessiond/internal/session/redisstore"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	web "github.com/sessiond/sessiond/internal/http"
	"github.com/sessiond/sessiond/internal/ratelimit"
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

	tp, err := newTracing(ctx, cfg, replica, log)
	if err != nil {
		return err
	}
	if tp != nil {
		defer func() {
			// Flush the spans still queued, within a bound of its own.
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tp.Shutdown(fctx); err != nil {
				log.Warn("tracing: flush at shutdown", "err", err)
			}
		}()
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.close()

	metrics := web.NewMetrics()
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
		Timeout:     cfg.RedisTimeout,
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
	busy := &connTracker{conns: map[net.Conn]struct{}{}}
	srv := &http.Server{
		ConnState: busy.track,
		Handler: web.NewServer(web.Config{
			Sessions: sessions, Pages: pages, Metrics: metrics, Logger: log,
			Replica: replica, Proxies: proxies, Draining: draining.Load,
			LoginLimiter: loginLimiter(cfg, st.redis), Tracer: tracer,
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
		"login_rate_limit", cfg.LoginRateLimit, "tracing", tp != nil, "otel_endpoint", endpointHost(cfg.OTLPEndpoint))
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
	// Close the listener first: a balancer's new connection is refused, which
	// it retries on another replica, POSTs included. Then let every accepted
	// connection finish its request before Shutdown: a request read after
	// Shutdown has begun is dropped unanswered by net/http, which a balancer
	// cannot retry for a POST.
	_ = ln.Close()
	if !busy.waitIdle(sctx) {
		log.Warn("shutdown timeout: cutting the requests still running")
	}
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

// store is the opened session store.
type store struct {
	backend session.Backend
	keys    [][]byte              // signing keys, the first signs
	redis   redis.UniversalClient // nil for the filesystem store
	close   func()
}

// openStore opens the configured session store with its signing keys.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (store, error) {
	if cfg.Store == "redis" {
		client, err := redisconn.Open(cfg.RedisURL, redisconn.Options{Timeout: cfg.RedisTimeout})
		if err != nil {
			return store{}, fmt.Errorf("REDIS_URL: %w", err) // checked by loadConfig already
		}
		pctx, cancel := context.WithTimeout(ctx, cfg.RedisTimeout)
		defer cancel()
		if err := client.Ping(pctx).Err(); err != nil {
			// Not fatal: /readyz answers 503 until Redis does.
			log.Warn("redis does not answer yet", "err", err)
		}
		log.Info("session store", "store", "redis", "topology", cfg.RedisKind, "redis", redisconn.Describe(cfg.RedisURL), "key_prefix", cfg.RedisKeyPrefix)
		backend := redisstore.New(client)
		if cfg.RedisWaitReplicas > 0 {
			// Half the call's budget for the replicas' acknowledgement.
			backend = redisstore.WithWait(backend, cfg.RedisWaitReplicas, cfg.RedisTimeout/2)
			log.Info("logins and logouts wait for replicas", "replicas", cfg.RedisWaitReplicas, "timeout", cfg.RedisTimeout/2)
		}
		return store{backend: backend, keys: cfg.Secrets, redis: client, close: func() { _ = client.Close() }}, nil
	}
	dir, err := filepath.Abs(cfg.SessionDir)
	if err != nil {
		return store{}, fmt.Errorf("SESSION_DIR: %w", err)
	}
	files, err := filestore.New(dir)
	if err != nil {
		return store{}, err
	}
	keys := cfg.Secrets
	if keys == nil {
		key, err := fileSecret(dir)
		if err != nil {
			_ = files.Close()
			return store{}, err
		}
		keys = [][]byte{key}
	}
	log.Info("session store", "store", "filesystem", "dir", dir)
	return store{backend: files, keys: keys, close: func() { _ = files.Close() }}, nil
}

// loginLimiter counts logins per client IP per LOGIN_RATE_LIMIT: in Redis
// when the store is Redis, so every replica enforces one limit; in memory
// for the filesystem store (one process).
// IPv6 clients are counted by their LOGIN_RATE_LIMIT_IPV6_PREFIX network.
func loginLimiter(cfg config, client redis.UniversalClient) ratelimit.Limiter {
	var l ratelimit.Limiter
	switch {
	case cfg.LoginRateLimit == 0:
		return ratelimit.Off{}
	case client != nil:
		l = ratelimit.NewRedis(client, cfg.RedisKeyPrefix+"login:", cfg.LoginRateLimit)
	default:
		l = ratelimit.NewLocal(cfg.LoginRateLimit)
	}
	return ratelimit.ByClientNetwork(l, cfg.LoginRateLimitIPv6Prefix)
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

// connTracker counts the connections that have a request to serve: new
// (accepted, request not yet read) or active.
type connTracker struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (t *connTracker) track(c net.Conn, st http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st == http.StateNew || st == http.StateActive {
		t.conns[c] = struct{}{}
	} else {
		delete(t.conns, c)
	}
}

// waitIdle waits until no connection is busy, or ctx ends (false).
func (t *connTracker) waitIdle(ctx context.Context) bool {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		t.mu.Lock()
		n := len(t.conns)
		t.mu.Unlock()
		if n == 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}
