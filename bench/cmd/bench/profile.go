package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Profile is one target's CPU and allocation profile under one scenario.
type Profile struct {
	Target        string   `json:"target"`
	Scenario      string   `json:"scenario"`
	RPS           float64  `json:"rps_while_profiling"`
	Seconds       int      `json:"seconds"`
	CPUFile       string   `json:"cpu_file"`
	AllocsFile    string   `json:"allocs_file"`
	AllocsPerReq  float64  `json:"allocs_per_req"`
	AllocBytesReq float64  `json:"alloc_bytes_per_req"`
	CPUSecondsReq float64  `json:"cpu_us_per_req"`
	ForeignCPU    float64  `json:"foreign_cpus"`
	TopCPU        []string `json:"top_cpu"`
	Breakdown     []Share  `json:"cpu_breakdown"`
}

// profile starts profiling variants of ours, engine and scs (each on a
// database of its own) and, for each scenario, takes a CPU profile and an
// allocation profile of each while wrk drives the same load as in the
// measured runs. The measured runs themselves are never profiled.
func (s *suite) profile(ctx context.Context) ([]Profile, error) {
	dir := filepath.Join(s.cfg.out, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	defer func() {
		for _, t := range s.profiled {
			t.proc.stop()
		}
		s.profiled = nil
	}()
	db := 5
	for _, name := range []string{"ours", "engine", "scs"} {
		if !s.needs(name) {
			continue
		}
		bin := s.peersBin
		if name == "ours" {
			var err error
			if bin, err = s.buildPprofVariant(ctx); err != nil {
				return nil, err
			}
		}
		t, err := s.startTarget(ctx, name, bin, db, true)
		if err != nil {
			return nil, err
		}
		db++
		s.profiled = append(s.profiled, t)
	}
	secs := max(int(s.cfg.Duration/time.Second)-2, 1)
	var out []Profile
	for _, sc := range s.cfg.Scenarios {
		for _, t := range s.profiled {
			p, err := s.profileOne(ctx, t, sc, dir, secs)
			if err != nil {
				return out, fmt.Errorf("%s %s: %w", t.Name, sc, err)
			}
			out = append(out, p)
			s.logf("profile %-7s %-7s %8.0f req/s while profiling, %6.1f µs CPU/req, %5.0f allocs/req, %6.0f B/req",
				sc, t.Name, p.RPS, p.CPUSecondsReq, p.AllocsPerReq, p.AllocBytesReq)
		}
	}
	return out, nil
}

func (s *suite) buildPprofVariant(ctx context.Context) (string, error) {
	hook := filepath.Join(s.cfg.benchMd, "pprofhook", "pprof_hook.go")
	overlay := map[string]map[string]string{"Replace": {
		filepath.Join(s.cfg.root, "cmd", "server", "zz_bench_pprof_hook.go"): hook,
	}}
	b, _ := json.Marshal(overlay)
	ov := filepath.Join(s.work, "pprof-overlay.json")
	if err := os.WriteFile(ov, b, 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(s.work, "server-pprof")
	s.logf("building the profiling variant of the service (-tags benchpprof -overlay)")
	return bin, goBuild(ctx, s.cfg.root, bin, "./cmd/server", "-tags", "benchpprof", "-overlay", ov)
}

func (s *suite) profileOne(ctx context.Context, t *target, sc, dir string, secs int) (Profile, error) {
	p := Profile{Target: t.Name, Scenario: sc, Seconds: secs}
	cookies := "-"
	if sc == "index" || sc == "cart" {
		var err error
		if cookies, err = s.pool(ctx, t, sc, s.cfg.Pool); err != nil {
			return p, err
		}
	}
	s.waitQuiet(ctx)
	if _, err := s.wrk(ctx, t.Base, sc, cookies, s.cfg.Warmup); err != nil {
		return p, err
	}
	base := filepath.Join(dir, t.Name+"-"+sc)
	p.CPUFile, p.AllocsFile = base+".cpu.pprof", base+".allocs.pprof"
	var wg sync.WaitGroup
	var cpuErr, allocErr error
	var w wrkOut
	var wrkErr error
	c0 := s.cpuSnap(t)
	wg.Add(3)
	go func() {
		defer wg.Done()
		w, wrkErr = s.wrk(ctx, t.Base, sc, cookies, time.Duration(secs+2)*time.Second)
	}()
	time.Sleep(time.Second)
	go func() {
		defer wg.Done()
		cpuErr = fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", t.Pprof, secs), p.CPUFile)
	}()
	go func() {
		defer wg.Done()
		allocErr = fetch(ctx, fmt.Sprintf("%s/debug/pprof/allocs?seconds=%d", t.Pprof, secs), p.AllocsFile)
	}()
	wg.Wait()
	for _, err := range []error{wrkErr, cpuErr, allocErr} {
		if err != nil {
			return p, err
		}
	}
	var r Run
	fill(&r, w)
	fillCPU(&r, c0, s.cpuSnap(t), w)
	p.RPS, p.ForeignCPU = r.RPS, r.ForeignCPU
	reqs := r.RPS * float64(secs)
	top, err := pprofTop(ctx, p.CPUFile, base+".cpu.txt")
	if err != nil {
		return p, err
	}
	p.TopCPU = top.lines
	if p.Breakdown, err = breakdown(ctx, p.CPUFile, base+".cpu-cum.txt"); err != nil {
		return p, err
	}
	p.CPUSecondsReq = r.ServerCPUus // from the process' CPU time, not the sample count
	objs, err := pprofTop(ctx, p.AllocsFile, base+".allocs.txt", "-sample_index=alloc_objects")
	if err != nil {
		return p, err
	}
	bytes, err := pprofTop(ctx, p.AllocsFile, base+".allocbytes.txt", "-sample_index=alloc_space")
	if err != nil {
		return p, err
	}
	p.AllocsPerReq, p.AllocBytesReq = objs.total/reqs, bytes.total/reqs
	return p, nil
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

type topOut struct {
	total float64 // in the profile's unit: seconds, objects or bytes
	lines []string
}

var totalRe = regexp.MustCompile(`of ([0-9.]+)([a-zA-Z]*) total`)

// pprofTop writes `go tool pprof -top` of file into txt and returns the
// profile's total and its first entries.
func pprofTop(ctx context.Context, file, txt string, extra ...string) (topOut, error) {
	args := append([]string{"tool", "pprof", "-top", "-nodecount=40"}, extra...)
	args = append(args, file)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	b, err := cmd.Output()
	if err != nil {
		return topOut{}, fmt.Errorf("go tool pprof %s: %w", file, err)
	}
	if err := os.WriteFile(txt, b, 0o644); err != nil {
		return topOut{}, err
	}
	var out topOut
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if m := totalRe.FindStringSubmatch(l); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			out.total = v * unitScale(m[2])
		}
		if strings.Contains(l, "flat%") {
			for _, e := range lines[i+1 : min(i+16, len(lines))] {
				if e = strings.TrimSpace(e); e != "" {
					out.lines = append(out.lines, e)
				}
			}
			break
		}
	}
	return out, nil
}

func unitScale(u string) float64 {
	switch u {
	case "ms":
		return 1e-3
	case "us", "µs":
		return 1e-6
	case "ns":
		return 1e-9
	case "s", "":
		return 1
	case "kB", "KB":
		return 1 << 10
	case "MB":
		return 1 << 20
	case "GB":
		return 1 << 30
	case "k":
		return 1e3
	case "M":
		return 1e6
	}
	return 1
}
