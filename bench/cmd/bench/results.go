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

// Report is every pass of one invocation (-runs); results.json holds it.
type Report struct {
	Passes []*Results `json:"passes"`
}

// Results is everything one pass of the suite measured, and the targets
// judged on it.
type Results struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Machine  Machine   `json:"machine"`
	Config   Config    `json:"config"`
	Memory   []Memory  `json:"memory"`
	Runs     []Run     `json:"runs"`
	Scale    *Scale    `json:"scale,omitempty"`
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

// readReport reads a results.json: a Report, or one pass alone as the
// driver wrote it before -runs.
func readReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rep.Passes) == 0 {
		var one Results
		if err := json.Unmarshal(b, &one); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rep.Passes = []*Results{&one}
	}
	for _, r := range rep.Passes {
		r.Checks = checks(r) // by the current rules
	}
	return &rep, nil
}

// writeOutputs writes results.json and results.md into dir.
func writeOutputs(dir string, rep *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return writeMarkdownFile(dir, rep)
}

func writeMarkdownFile(dir string, rep *Report) error {
	var md strings.Builder
	writeMarkdown(&md, rep)
	return os.WriteFile(filepath.Join(dir, "results.md"), []byte(md.String()), 0o644)
}
