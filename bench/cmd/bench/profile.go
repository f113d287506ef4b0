package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profile (-profile) takes, for each scenario and target, a CPU profile
// and an allocation profile while wrk drives the scenario's load; nothing
// is measured then. The files go to -out/profiles (git-ignored); read them
// with go tool pprof.
func (s *suite) profile(ctx context.Context) error {
	dir := filepath.Join(s.cfg.out, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, err := s.start(ctx); err != nil {
		return err
	}
	secs := max(int(s.cfg.Duration/time.Second)-2, 1)
	for _, sc := range s.cfg.Scenarios {
		for _, t := range s.targets {
			if err := s.profileOne(ctx, t, sc, dir, secs); err != nil {
				return fmt.Errorf("profile %s %s: %w", t.Name, sc, err)
			}
		}
	}
	fmt.Fprintf(s.out, "profiles in %s; read one with: go tool pprof -top -cum %s\n", dir, filepath.Join(dir, "ours-index.cpu.pprof"))
	return nil
}

// buildPprofVariant builds cmd/server with pprofhook/pprof_hook.go added
// through -overlay (a pprof listener at BENCH_PPROF_ADDR), so the service
// itself is not changed.
func (s *suite) buildPprofVariant(ctx context.Context) error {
	hook := filepath.Join(s.cfg.benchMd, "pprofhook", "pprof_hook.go")
	overlay := map[string]map[string]string{"Replace": {
		filepath.Join(s.cfg.root, "cmd", "server", "zz_bench_pprof_hook.go"): hook,
	}}
	b, _ := json.Marshal(overlay)
	ov := filepath.Join(s.work, "pprof-overlay.json")
	if err := os.WriteFile(ov, b, 0o644); err != nil {
		return err
	}
	s.logf("building the profiling variant of the service (-tags benchpprof -overlay)")
	return goBuild(ctx, s.cfg.root, s.serverBin, "./cmd/server", "-tags", "benchpprof", "-overlay", ov)
}

func (s *suite) profileOne(ctx context.Context, t *target, sc, dir string, secs int) error {
	cookies := "-"
	if loggedIn(sc) {
		var err error
		if cookies, _, err = s.pool(ctx, t, sc, s.cfg.Pool); err != nil {
			return err
		}
	}
	s.waitQuiet(ctx)
	if _, err := s.wrk(ctx, t.Base, sc, cookies, s.cfg.Warmup); err != nil {
		return err
	}
	base := filepath.Join(dir, t.Name+"-"+sc)
	var wg sync.WaitGroup
	var w wrkOut
	errs := make([]error, 3)
	wg.Add(3)
	go func() {
		defer wg.Done()
		w, errs[0] = s.wrk(ctx, t.Base, sc, cookies, time.Duration(secs+2)*time.Second)
	}()
	time.Sleep(time.Second)
	go func() {
		defer wg.Done()
		errs[1] = fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", t.Pprof, secs), base+".cpu.pprof")
	}()
	go func() {
		defer wg.Done()
		errs[2] = fetch(ctx, fmt.Sprintf("%s/debug/pprof/allocs?seconds=%d", t.Pprof, secs), base+".allocs.pprof")
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	s.logf("profile %-8s %-10s %6.0f req/s while profiling: %s.{cpu,allocs}.pprof", sc, t.Name,
		float64(w.Requests)*1e6/float64(max(w.DurationUS, 1)), base)
	return nil
}

func fetch(ctx context.Context, url, file string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
