package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// drain serves until the context ends, then shuts down without dropping a
// request a balancer could not resend.
type drain struct {
	draining atomic.Bool
	busy     connTracker
}

func newDrain() *drain {
	return &drain{busy: connTracker{conns: map[net.Conn]struct{}{}}}
}

// Draining reports whether the shutdown has begun: /readyz answers 503.
func (d *drain) Draining() bool { return d.draining.Load() }

// serve serves srv on ln until ctx ends, then: /readyz turns 503 for
// cfg.ShutdownDelay while requests are still served, the listener closes,
// and the requests in flight get cfg.ShutdownTimeout to finish. stop ends
// the signal handling once the shutdown begins, so a second signal ends
// the process at once.
func (d *drain) serve(ctx context.Context, srv *http.Server, ln net.Listener, cfg config, log *slog.Logger, stop func()) error {
	srv.ConnState = d.busy.track
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stop()

	// Balancers see /readyz fail and stop sending; requests that still
	// come are served until the listener closes.
	log.Info("shutting down", "delay", cfg.ShutdownDelay.String(), "timeout", cfg.ShutdownTimeout.String())
	d.draining.Store(true)
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
	if !d.busy.waitIdle(sctx) {
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
