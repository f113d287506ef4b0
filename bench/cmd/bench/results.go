package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Results is everything one run measured; results.json holds it.
type Results struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Machine  Machine   `json:"machine"`
	Config   Config    `json:"config"`
	Memory   []Memory  `json:"memory"`
	Runs     []Run     `json:"runs"`
	Scale    *Scale    `json:"scale,omitempty"`
	Profiles []Profile `json:"profiles,omitempty"`
	Checks   []Check   `json:"checks"`
}

// Machine is where it ran.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	MemTotal string `json:"mem_total"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
	Redis    string `json:"redis"`
	Wrk      string `json:"wrk"`
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = procField(string(b), "model name")
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotal = strings.Join(strings.Fields(procField(string(b), "MemTotal")), " ")
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("wrk", "-v").CombinedOutput(); len(out) > 0 || err == nil {
		m.Wrk = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return m
}

func procField(text, field string) string {
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == field {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (r *Results) run(target, scenario string) *Run {
	for i := range r.Runs {
		if r.Runs[i].Target == target && r.Runs[i].Scenario == scenario {
			return &r.Runs[i]
		}
	}
	return nil
}

// memory is target's memory figure for names "each" or "one" (results of
// older runs, which measured only a name per login, have no names: they
// count as "each").
func (r *Results) memory(target, names string) *Memory {
	for i := range r.Memory {
		n := r.Memory[i].Names
		if n == "" {
			n = "each"
		}
		if r.Memory[i].Target == target && n == names {
			return &r.Memory[i]
		}
	}
	return nil
}

func readResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// writeOutputs writes results.json, results.md and chart.svg into dir, and
// chart.png when rsvg-convert is installed (Debian: librsvg2-bin).
func writeOutputs(dir string, r *Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	var md strings.Builder
	writeMarkdown(&md, r)
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	svg := filepath.Join(dir, "chart.svg")
	if err := os.WriteFile(svg, []byte(svgChart(r)), 0o644); err != nil {
		return err
	}
	return renderPNG(svg, filepath.Join(dir, "chart.png"))
}

// renderPNG draws the chart as PNG with rsvg-convert, when there is one.
func renderPNG(svg, png string) error {
	bin, err := exec.LookPath("rsvg-convert")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: no rsvg-convert, so no %s (apt-get install librsvg2-bin)\n", filepath.Base(png))
		return nil
	}
	if out, err := exec.Command(bin, "-b", "white", "-o", png, svg).CombinedOutput(); err != nil {
		return fmt.Errorf("rsvg-convert: %w: %s", err, out)
	}
	return nil
}

// Check is one of the service's performance targets (issue 12), judged
// on this run.
type Check struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	// Status is "pass", "FAIL" or "n/a" (not measured in this run).
	Status string `json:"status"`
}

func checks(r *Results) []Check {
	var out []Check
	add := func(name, want string, ok func() (string, bool, bool)) {
		got, pass, have := ok()
		st := "n/a"
		if have {
			st = "FAIL"
			if pass {
				st = "pass"
			}
		}
		out = append(out, Check{Name: name, Want: want, Got: got, Status: st})
	}
	ratio := func(who, sc, peer string, want float64) func() (string, bool, bool) {
		return func() (string, bool, bool) {
			o, p := r.run(who, sc), r.run(peer, sc)
			if o == nil || p == nil || p.RPS == 0 {
				return "", false, false
			}
			x := o.RPS / p.RPS
			return fmt.Sprintf("%.2fx (%.0f vs %.0f req/s)", x, o.RPS, p.RPS), x >= want && o.Bad() == 0, true
		}
	}
	add("logged-in GET / vs scs", ">= 1.5x", ratio("ours", "index", "scs", 1.5))
	add("logged-in GET / vs gin-contrib", ">= 2x", ratio("ours", "index", "gincontrib", 2))
	add("POST /cart/add vs scs", ">= 1.3x", ratio("ours", "cart", "scs", 1.3))
	add("POST /login vs scs", ">= 1.2x", ratio("ours", "login", "scs", 1.2))
	add("anonymous GET / vs Gin without sessions", ">= 0.9x", ratio("ours", "anon", "nosession", 0.9))
	for _, sc := range allScenarios {
		add("p99 "+scenarioTitle[sc]+" vs scs", "<= scs", func() (string, bool, bool) {
			o, p := r.run("ours", sc), r.run("scs", sc)
			if o == nil || p == nil {
				return "", false, false
			}
			return fmt.Sprintf("%.2f ms vs %.2f ms", o.P99Ms, p.P99Ms), o.P99Ms <= p.P99Ms, true
		})
	}
	for _, sc := range allScenarios {
		add("Redis µs per request, "+scenarioTitle[sc]+" vs scs", "<= scs", func() (string, bool, bool) {
			o, p := r.run("ours", sc), r.run("scs", sc)
			if o == nil || p == nil || o.UsecBreakdown == nil {
				return "", false, false
			}
			return fmt.Sprintf("%.1f µs vs %.1f µs", o.RedisUsecPerReq, p.RedisUsecPerReq), o.RedisUsecPerReq <= p.RedisUsecPerReq, true
		})
	}
	// Round trips are the reads Redis processed: loads batched with other
	// requests' (go-redis' AutoPipeliner) share one, so fewer than one
	// per request is better, not worse.
	add("read-only request: Redis round trips, commands and writes", "<= 1 round trip, 1 command, 0 writes", func() (string, bool, bool) {
		o := r.run("ours", "index")
		if o == nil {
			return "", false, false
		}
		return fmt.Sprintf("%.2f round trips, %.2f cmds, %.2f writes", o.RoundTripsPerReq, o.CmdsPerReq, o.WritesPerReq),
			o.RoundTripsPerReq < 1.05 && o.CmdsPerReq < 1.05 && o.WritesPerReq == 0, true
	})
	add("Redis bytes per logged-in session, a name each (with index)", "<= 250", func() (string, bool, bool) {
		m := r.memory("ours", "each")
		if m == nil {
			return "", false, false
		}
		return fmt.Sprintf("%.0f bytes (%.2f keys)", m.BytesPerSession, m.KeysPerSession), m.BytesPerSession <= 250, true
	})
	add("Redis bytes per live session, one name for all (with index)", "<= 250", func() (string, bool, bool) {
		m := r.memory("ours", "one")
		if m == nil || m.Live == 0 {
			return "", false, false
		}
		return fmt.Sprintf("%.0f bytes per live session (%d of %d logins live; %.0f per login)", m.BytesPerLive, m.Live, m.Logins, m.BytesPerSession),
			m.BytesPerLive <= 250, true
	})
	add("throughput with many sessions stored", ">= 0.9x of few", func() (string, bool, bool) {
		s := r.Scale
		if s == nil || s.Small.RPS == 0 || s.Large.RPS == 0 {
			return "", false, false
		}
		x := s.Large.RPS / s.Small.RPS
		return fmt.Sprintf("%.2fx (%d stored: %.0f req/s; %d stored: %.0f req/s)", x,
			s.Large.Sessions, s.Large.RPS, s.Small.Sessions, s.Small.RPS), x >= 0.9, true
	})
	for _, sc := range allScenarios {
		add("engine alone, "+scenarioTitle[sc]+" vs scs", ">= 1.5x", ratio("engine", sc, "scs", 1.5))
	}
	add("no errors in any run of ours", "0", func() (string, bool, bool) {
		var bad int64
		have := false
		for _, run := range r.Runs {
			if run.Target == "ours" {
				have = true
				bad += run.Bad()
			}
		}
		return fmt.Sprint(bad), bad == 0, have
	})
	return out
}

var scenarioTitle = map[string]string{
	"index": "logged-in GET /",
	"login": "POST /login",
	"cart":  "POST /cart/add",
	"anon":  "anonymous GET /",
}
