package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

//go:embed bench.lua
var luaScript []byte

// Run is one target under one scenario's load.
type Run struct {
	Target   string  `json:"target"`
	Scenario string  `json:"scenario"`
	Requests int64   `json:"requests"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50Ms    float64 `json:"p50_ms"`
	P90Ms    float64 `json:"p90_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MeanMs   float64 `json:"mean_ms"`
	MaxMs    float64 `json:"max_ms"`
	// Unexpected counts the answers that are not the scenario's (bench.lua:
	// status, Location, session cookie); SignedOutResponses, those of a
	// logged-in scenario that sent its browser to /login or expired its
	// cookie. SignedOutAfter is how many of the run's cookies no longer get
	// the signed-in page right after it.
	Non2xx3xx          int64 `json:"non_2xx_3xx"`
	Unexpected         int64 `json:"unexpected_status"`
	SignedOutResponses int64 `json:"signed_out_responses"`
	SignedOutAfter     int64 `json:"signed_out_after"`
	SignOutsChecked    bool  `json:"sign_outs_checked"` // this driver checks; older results did not
	SocketErrors       int64 `json:"socket_errors"`
	Timeouts           int64 `json:"timeouts"`
	Pool               int   `json:"cookie_pool,omitempty"`
	// From INFO between the start and the end of the measured run, per
	// request: Redis' own CPU time (used_cpu_user + used_cpu_sys, µs; it
	// bounds how many replicas one Redis serves), round trips (reads the
	// server processed, less connection closes), commands including those
	// run inside Lua scripts, commands that write, new connections; and
	// every command's calls and commandstats usec (a script's usec includes
	// the commands it calls, which are also counted under their own names).
	RedisCPUus       float64            `json:"redis_cpu_us_per_req"`
	RoundTripsPerReq float64            `json:"redis_round_trips_per_req"`
	CmdsPerReq       float64            `json:"redis_cmds_per_req"`
	WritesPerReq     float64            `json:"redis_writes_per_req"`
	ConnsPerReq      float64            `json:"redis_new_conns_per_req"`
	CmdBreakdown     map[string]float64 `json:"redis_cmds_breakdown"`
	UsecBreakdown    map[string]float64 `json:"redis_usec_breakdown"`
	// CPU: microseconds of the target's and wrk's CPU time per request
	// (/proc), and CPUs' worth used meanwhile by processes other than wrk,
	// the targets and redis-server (above ~0.1 the run was disturbed).
	ServerCPUus float64 `json:"server_cpu_us_per_req"`
	WrkCPUus    float64 `json:"wrk_cpu_us_per_req"`
	ForeignCPU  float64 `json:"foreign_cpus"`
}

// Errors is every request that got a wrong answer or none.
func (r Run) Errors() int64 { return r.Unexpected + r.SocketErrors + r.Timeouts }

// SignedOut is every sign-out the run caused.
func (r Run) SignedOut() int64 { return r.SignedOutResponses + r.SignedOutAfter }

type wrkOut struct {
	Requests      int64   `json:"requests"`
	DurationUS    int64   `json:"duration_us"`
	Bytes         int64   `json:"bytes"`
	ConnectErrors int64   `json:"connect_errors"`
	ReadErrors    int64   `json:"read_errors"`
	WriteErrors   int64   `json:"write_errors"`
	StatusErrors  int64   `json:"status_errors"`
	Timeouts      int64   `json:"timeouts"`
	Unexpected    int64   `json:"unexpected"`
	SignedOut     int64   `json:"signed_out"`
	P50US         int64   `json:"p50_us"`
	P90US         int64   `json:"p90_us"`
	P99US         int64   `json:"p99_us"`
	MeanUS        float64 `json:"mean_us"`
	MaxUS         int64   `json:"max_us"`
	CPUSeconds    float64 `json:"-"` // wrk's own CPU time
}

// wrk runs one bounded load of scenario against base; cookies is a file of
// session cookies, "-" for none.
func (s *suite) wrk(ctx context.Context, base, scenario, cookies string, d time.Duration) (wrkOut, error) {
	var out wrkOut
	secs := int(d.Round(time.Second) / time.Second)
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(s.cfg.Threads), "-c", strconv.Itoa(s.cfg.Connections),
		"-d", fmt.Sprintf("%ds", secs), "--timeout", "5s", "-s", s.script, base+"/",
		"--", scenario, cookies)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("wrk: %w\n%s", err, b)
	}
	if ps := cmd.ProcessState; ps != nil {
		out.CPUSeconds = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	for _, line := range strings.Split(string(b), "\n") {
		if j, ok := strings.CutPrefix(line, "BENCHJSON "); ok {
			cpu := out.CPUSeconds
			if err := json.Unmarshal([]byte(j), &out); err != nil {
				return out, fmt.Errorf("wrk output %q: %w", j, err)
			}
			out.CPUSeconds = cpu
			return out, nil
		}
	}
	return out, fmt.Errorf("no BENCHJSON line in wrk output:\n%s", b)
}

// pool logs in n sessions on t and writes their cookies to a file. For the
// index scenario each session also gets a theme and a two-item cart, so the
// page shows real data.
func (s *suite) pool(ctx context.Context, t *target, scenario string, n int) (file string, cookies []string, err error) {
	c := newHTTPClient(8)
	defer c.close()
	cookies = make([]string, n)
	tag := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	_, err = parallel(ctx, n, 8, time.Now().Add(2*time.Minute), func(ctx context.Context, i int) error {
		ck, err := c.login(ctx, t.Base, fmt.Sprintf("%s%s%d", scenario, tag, i))
		if err != nil {
			return err
		}
		if scenario == "index" {
			for _, step := range []struct {
				path string
				form url.Values
			}{
				{"/theme", url.Values{"theme": {"dark"}}},
				{"/cart/add", url.Values{"item": {"apple"}, "qty": {"2"}}},
				{"/cart/add", url.Values{"item": {"pear"}, "qty": {"1"}}},
			} {
				if ck, err = c.post(ctx, t.Base, step.path, ck, step.form); err != nil {
					return err
				}
			}
		}
		cookies[i] = ck
		return nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("preparing %d sessions: %w", n, err)
	}
	// The page must really be the logged-in one.
	code, _, body, err := c.do(ctx, "GET", t.Base+"/", cookies[0], nil)
	if err != nil {
		return "", nil, err
	}
	if code != 200 || (scenario == "index" && !strings.Contains(body, "apple")) {
		return "", nil, fmt.Errorf("a prepared session does not show its page: status %d: %.300s", code, body)
	}
	file = filepath.Join(s.work, fmt.Sprintf("cookies-%s-%s.txt", t.Name, scenario))
	return file, cookies, os.WriteFile(file, []byte(strings.Join(cookies, "\n")+"\n"), 0o644)
}

// measure runs warm-up and measured load of one scenario against t, and
// after a logged-in scenario checks that every cookie it used still gets
// the signed-in page.
func (s *suite) measure(ctx context.Context, t *target, scenario string) (Run, error) {
	r := Run{Target: t.Name, Scenario: scenario, SignOutsChecked: loggedIn(scenario)}
	file, cookies := "-", []string(nil)
	if loggedIn(scenario) {
		var err error
		if file, cookies, err = s.pool(ctx, t, scenario, s.cfg.Pool); err != nil {
			return r, err
		}
		r.Pool = s.cfg.Pool
	}
	s.waitQuiet(ctx)
	if _, err := s.wrk(ctx, t.Base, scenario, file, s.cfg.Warmup); err != nil {
		return r, fmt.Errorf("warm-up: %w", err)
	}
	before, err := s.snapshot(ctx)
	if err != nil {
		return r, err
	}
	c0 := s.cpuSnap(t)
	w, err := s.wrk(ctx, t.Base, scenario, file, s.cfg.Duration)
	if err != nil {
		return r, err
	}
	c1 := s.cpuSnap(t)
	after, err := s.snapshot(ctx)
	if err != nil {
		return r, err
	}
	fill(&r, w)
	fillCPU(&r, c0, c1, w)
	s.redisPerRequest(&r, before, after)
	if len(cookies) > 0 {
		c := newHTTPClient(4)
		defer c.close()
		live, err := s.live(ctx, t, c, cookies)
		if err != nil {
			return r, fmt.Errorf("after the run: %w", err)
		}
		r.SignedOutAfter = int64(len(cookies) - live)
	}
	return r, nil
}

func fillCPU(r *Run, a, b cpuSnap, w wrkOut) {
	r.ForeignCPU = round3(foreignCPU(a, b, w.CPUSeconds))
	if r.Requests > 0 {
		n := float64(r.Requests)
		r.ServerCPUus = round3((b.target - a.target) / clockTick / n * 1e6)
		r.WrkCPUus = round3(w.CPUSeconds / n * 1e6)
	}
}

func fill(r *Run, w wrkOut) {
	r.Requests = w.Requests
	r.Seconds = float64(w.DurationUS) / 1e6
	if r.Seconds > 0 {
		r.RPS = float64(w.Requests) / r.Seconds
	}
	r.P50Ms, r.P90Ms, r.P99Ms = float64(w.P50US)/1e3, float64(w.P90US)/1e3, float64(w.P99US)/1e3
	r.MeanMs, r.MaxMs = w.MeanUS/1e3, float64(w.MaxUS)/1e3
	r.Non2xx3xx, r.Unexpected, r.SignedOutResponses = w.StatusErrors, w.Unexpected, w.SignedOut
	r.SocketErrors = w.ConnectErrors + w.ReadErrors + w.WriteErrors
	r.Timeouts = w.Timeouts
}
