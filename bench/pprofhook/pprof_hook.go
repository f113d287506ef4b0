//go:build benchpprof

// This file is not part of any build of its own. The benchmark driver adds
// it to the service's package main with `go build -tags benchpprof -overlay`
// to make a profiling variant of cmd/server, without changing the service:
// with BENCH_PPROF_ADDR set, the variant serves net/http/pprof there, on a
// listener separate from the service's.
package main

import (
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

func init() {
	addr := os.Getenv("BENCH_PPROF_ADDR")
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.ListenAndServe() }()
}
