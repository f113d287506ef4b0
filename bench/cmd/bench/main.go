// Command bench runs the session benchmark suite: it starts its own
// redis-server, builds and starts the service (../cmd/server) and the peers
// (./peers), drives the same wrk load at each for each scenario, and writes
// the results (results.json, and results.md generated from it) to -out.
//
//	go run ./cmd/bench                 # the full suite (see Makefile)
//	go run ./cmd/bench -quick          # a smoke run with short durations
//	go run ./cmd/bench -runs 3         # the whole suite three times, targets side by side
//	go run ./cmd/bench -report results/results.json   # regenerate results.md
//	go run ./cmd/bench -profile        # CPU and allocation profiles instead of measuring
//
// Every server listens on 127.0.0.1; every load loop is bounded in count and
// time; every process started is stopped by its PID.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Config is one run's settings; it is written into the results.
type Config struct {
	Targets      []string      `json:"targets"`
	Scenarios    []string      `json:"scenarios"`
	Connections  int           `json:"connections"`
	Threads      int           `json:"threads"`
	Duration     time.Duration `json:"duration_ns"`
	Warmup       time.Duration `json:"warmup_ns"`
	Pool         int           `json:"cookie_pool"`
	MemSessions  int           `json:"mem_sessions"`
	Scale        bool          `json:"scale"`
	ScaleTotal   int           `json:"scale_sessions"`
	ScaleBase    int           `json:"scale_base_sessions"`
	ScaleReps    int           `json:"scale_reps"`
	ScaleTimeout time.Duration `json:"scale_timeout_ns"`
	GinIdle      int           `json:"gincontrib_idle"`
	QuietCPU     float64       `json:"quiet_cpu"`
	QuietMax     time.Duration `json:"quiet_max_ns"`
	OursEnv      []string      `json:"ours_env"`
	Runs         int           `json:"runs"`

	profile bool   // profile instead of measuring
	root    string // the service's module (..)
	benchMd string // the bench module (.)
	out     string
	work    string
	keep    bool
}

var allTargets = []string{"ours", "engine", "scs", "gincontrib", "nosession"}

// allScenarios: "login" logs in a name each (names cycle over 10,000, so no
// name passes SESSION_MAX_PER_NAME within a run); "loginone" logs in one
// name for all, so past the 50th login every login of ours ends the least
// recently used session of that name.
var allScenarios = []string{"index", "login", "loginone", "cart", "anon"}

var scenarioTitle = map[string]string{
	"index":    "logged-in GET /",
	"login":    "POST /login, a name each",
	"loginone": "POST /login, one name for all",
	"cart":     "POST /cart/add",
	"anon":     "anonymous GET /",
}

// loggedIn are the scenarios whose requests carry a session cookie.
func loggedIn(scenario string) bool { return scenario == "index" || scenario == "cart" }

func parseFlags(args []string, stderr io.Writer) (*Config, mode, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &Config{}
	var targets, scenarios, oursEnv string
	var m mode
	var quick bool
	fs.StringVar(&targets, "targets", strings.Join(allTargets, ","), "targets, comma-separated: "+strings.Join(allTargets, ","))
	fs.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "scenarios, comma-separated: "+strings.Join(allScenarios, ","))
	fs.IntVar(&c.Connections, "c", 32, "wrk connections")
	fs.IntVar(&c.Threads, "t", 2, "wrk threads")
	fs.DurationVar(&c.Duration, "d", 10*time.Second, "measured duration of each run")
	fs.DurationVar(&c.Warmup, "warmup", 3*time.Second, "warm-up before each measured run")
	fs.IntVar(&c.Pool, "pool", 1000, "logged-in sessions (cookies) each index/cart run cycles through")
	fs.IntVar(&c.MemSessions, "mem-sessions", 10000, "logins per target for the Redis bytes-per-session figure")
	fs.BoolVar(&c.Scale, "scale", false, "also measure logged-in GET / of ours with -scale-sessions stored vs -scale-base")
	fs.IntVar(&c.ScaleTotal, "scale-sessions", 1_000_000, "sessions stored for the large -scale measurement")
	fs.IntVar(&c.ScaleBase, "scale-base", 1000, "sessions stored for the small -scale measurement")
	fs.IntVar(&c.ScaleReps, "scale-reps", 3, "measured runs at each size (median is reported)")
	fs.DurationVar(&c.ScaleTimeout, "scale-timeout", 10*time.Minute, "upper bound on preloading sessions")
	fs.IntVar(&c.Runs, "runs", 1, "run the whole suite this many times (fresh Redis and servers each time); the targets are judged run by run, side by side")
	fs.BoolVar(&c.profile, "profile", false, "instead of measuring, take CPU and allocation profiles of each target under each scenario's load (files in -out/profiles)")
	fs.IntVar(&c.GinIdle, "gincontrib-idle", 10, "gin-contrib redigo pool MaxIdle (its README's value)")
	fs.Float64Var(&c.QuietCPU, "quiet-cpu", 0.15, "before each measured run, wait until other processes use less than this many CPUs")
	fs.DurationVar(&c.QuietMax, "quiet-max", time.Minute, "longest wait for a quiet machine before each measured run")
	fs.StringVar(&oursEnv, "ours-env", "", "extra environment for the service, comma-separated K=V")
	fs.StringVar(&c.out, "out", "results", "results folder")
	fs.StringVar(&c.work, "work", "", "work folder for binaries, logs and redis (default: a new temp dir)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work folder")
	fs.StringVar(&c.root, "root", "..", "the service's module (where go build ./cmd/server runs)")
	fs.BoolVar(&quick, "quick", false, "smoke run: defaults -d 2s -warmup 1s -pool 200 -mem-sessions 2000 -quiet-max 5s")
	fs.StringVar(&m.report, "report", "", "only regenerate results.md (next to it) from this results.json")
	fs.StringVar(&m.summary, "summary", "", "only print the targets of this results.json")
	if err := fs.Parse(args); err != nil {
		return nil, m, err
	}
	if quick {
		// -quick changes the defaults only: flags given explicitly win.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]string{"d": "2s", "warmup": "1s", "pool": "200", "mem-sessions": "2000", "quiet-max": "5s"} {
			if !set[name] {
				if err := fs.Set(name, v); err != nil {
					return nil, m, err
				}
			}
		}
	}
	c.Targets = splitList(targets)
	c.Scenarios = splitList(scenarios)
	for _, t := range c.Targets {
		if !slices.Contains(allTargets, t) {
			return nil, m, fmt.Errorf("unknown target %q", t)
		}
	}
	for _, s := range c.Scenarios {
		if !slices.Contains(allScenarios, s) {
			return nil, m, fmt.Errorf("unknown scenario %q", s)
		}
	}
	c.OursEnv = splitList(oursEnv)
	if c.Connections < 1 || c.Threads < 1 || c.Threads > c.Connections || c.Duration < time.Second {
		return nil, m, fmt.Errorf("need 1 <= -t <= -c and -d >= 1s")
	}
	if c.Pool < 1 || c.MemSessions < 1 || c.ScaleBase < 1 || c.ScaleTotal < c.ScaleBase || c.ScaleReps < 1 || c.Runs < 1 {
		return nil, m, fmt.Errorf("-pool, -mem-sessions, -scale-base, -scale-reps, -runs must be >= 1, -scale-sessions >= -scale-base")
	}
	var err error
	if c.root, err = filepath.Abs(c.root); err != nil {
		return nil, m, err
	}
	if c.benchMd, err = os.Getwd(); err != nil {
		return nil, m, err
	}
	return c, m, nil
}

// mode is what a run does instead of measuring.
type mode struct {
	report  string // regenerate results.md from this results.json
	summary string // print the targets of this results.json
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, m, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if m.summary != "" || m.report != "" {
		rep, err := readReport(m.summary + m.report)
		if err != nil {
			return err
		}
		if m.summary != "" {
			printTargets(stdout, rep)
			return nil
		}
		return writeMarkdownFile(filepath.Dir(m.report), rep) // by the current rules
	}
	if cfg.profile {
		s, err := newSuite(cfg, stdout)
		if err != nil {
			return err
		}
		defer s.close()
		return s.profile(ctx)
	}
	rep := &Report{}
	for i := range cfg.Runs {
		if cfg.Runs > 1 {
			fmt.Fprintf(stdout, "\n=== run %d of %d\n", i+1, cfg.Runs)
		}
		res, err := runOnce(ctx, cfg, stdout)
		if res != nil {
			res.Checks = checks(res)
			rep.Passes = append(rep.Passes, res)
			if werr := writeOutputs(cfg.out, rep); werr != nil && err == nil {
				err = werr
			}
		}
		if err != nil {
			return err
		}
	}
	printTargets(stdout, rep)
	fmt.Fprintf(stdout, "\nresults: %s and results.md\n", filepath.Join(cfg.out, "results.json"))
	return nil
}

// runOnce is one pass of the whole suite, with its own redis-server and
// servers.
func runOnce(ctx context.Context, cfg *Config, stdout io.Writer) (*Results, error) {
	s, err := newSuite(cfg, stdout)
	if err != nil {
		return nil, err
	}
	defer s.close()
	return s.run(ctx)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
