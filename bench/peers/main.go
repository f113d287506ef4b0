// Command peers serves the benchmark's comparison targets: the same page and
// routes as the service, on top of a different session library each.
//
//	peers -peer nosession|gincontrib|scs|engine -addr 127.0.0.1:PORT -redis 127.0.0.1:PORT -db N
//
// Routes: GET / (logged in: the index page with name, theme and cart;
// anonymous: 303 to /login), POST /login name=..., POST /theme theme=...,
// POST /cart/add item=...&qty=..., GET /healthz. Pages are rendered with the
// service's own templates, so the only difference between targets is the
// session layer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(2)
	}
}

type options struct {
	peer      string
	addr      string
	redisAddr string
	db        int
	prefix    string
	secret    string
	replica   string
	poolIdle  int
	pprofAddr string
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("peers", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.peer, "peer", "", "nosession, gincontrib, scs or engine")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&o.redisAddr, "redis", "127.0.0.1:6379", "redis-server host:port")
	fs.IntVar(&o.db, "db", 0, "Redis database number")
	fs.StringVar(&o.prefix, "prefix", "", "Redis key prefix (default: the library's own)")
	fs.StringVar(&o.secret, "secret", "bench-secret-bench-secret-bench-secret!", "cookie signing key (>= 32 bytes)")
	fs.StringVar(&o.replica, "replica", "peer", "replica name shown in the footer")
	fs.IntVar(&o.poolIdle, "gincontrib-idle", 10, "gincontrib: redigo pool MaxIdle (its README uses 10)")
	fs.StringVar(&o.pprofAddr, "pprof", "", "serve net/http/pprof on this address (profiling runs only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	gin.SetMode(gin.ReleaseMode)
	pg, err := newPage(o.replica)
	if err != nil {
		return err
	}
	var h http.Handler
	var closeFn func()
	switch o.peer {
	case "nosession":
		h = noSession(pg)
	case "gincontrib":
		h, closeFn, err = ginContrib(pg, o)
	case "scs":
		h, closeFn, err = scsPeer(pg, o)
	case "engine":
		h, closeFn, err = enginePeer(pg, o)
	default:
		return fmt.Errorf("unknown -peer %q", o.peer)
	}
	if err != nil {
		return err
	}
	if closeFn != nil {
		defer closeFn()
	}
	if o.pprofAddr != "" {
		go servePprof(o.pprofAddr)
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func servePprof(addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	_ = srv.ListenAndServe()
}
