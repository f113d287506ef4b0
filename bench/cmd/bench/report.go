package main

import (
	"fmt"
	"io"
	"strings"
)

// table is a header and rows of cells, written as Markdown.
type table struct {
	title  string
	header []string
	rows   [][]string
}

func (t table) markdown(w io.Writer, level string) {
	fmt.Fprintf(w, "\n%s %s\n\n", level, t.title)
	fmt.Fprintf(w, "| %s |\n", strings.Join(t.header, " | "))
	seps := make([]string, len(t.header))
	for i := range seps {
		seps[i] = "---:"
	}
	seps[0] = "---"
	fmt.Fprintf(w, "|%s|\n", strings.Join(seps, "|"))
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
}

// ratioCell is a/b as "1.23×", or a dash when either is missing.
func ratioCell(a, b float64) string {
	if b == 0 || a == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// targetsTable is every target of issue 20, one column per pass.
func targetsTable(rep *Report) table {
	t := table{title: "Targets (issue 20): ours against the peers of the same run", header: []string{"target", "want"}}
	for i, r := range rep.Passes {
		t.header = append(t.header, fmt.Sprintf("run %d (%s)", i+1, r.Started.Format("01-02 15:04")))
	}
	if len(rep.Passes) == 0 {
		return t
	}
	for k, c := range rep.Passes[0].Checks {
		row := []string{c.Name, c.Want}
		for _, r := range rep.Passes {
			cell := "—"
			if k < len(r.Checks) {
				cell = "**" + r.Checks[k].Status + "**"
				if r.Checks[k].Got != "" {
					cell += " " + r.Checks[k].Got
				}
			}
			row = append(row, cell)
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// passTables are one pass's figures: a table per scenario, memory, scale.
func passTables(r *Results) []table {
	var out []table
	for _, sc := range allScenarios {
		scs, gc, bound := r.run("scs", sc), r.run("gincontrib", sc), r.run("nosession", sc)
		t := table{
			title: fmt.Sprintf("%s — %d connections, %s per run", scenarioTitle[sc], r.Config.Connections, r.Config.Duration),
			header: []string{"target", "req/s", "×scs", "×gin-contrib", "×no-session", "p50 ms", "p99 ms", "p99 ×scs",
				"errors", "signed out", "Redis CPU µs/req", "Redis CPU ×scs", "Redis cmds/req", "round trips/req",
				"writes/req", "new conns/req", "server CPU µs/req", "other CPUs"},
		}
		rel := func(run, peer *Run, f func(*Run) float64) string {
			if peer == nil {
				return "—"
			}
			return ratioCell(f(run), f(peer))
		}
		rps := func(x *Run) float64 { return x.RPS }
		// Redis' idle background work (about 0.1 µs per request) is no
		// cost to compare: a run without commands has no Redis CPU ratio.
		redisCPU := func(x *Run) float64 {
			if x.CmdsPerReq == 0 {
				return 0
			}
			return x.RedisCPUus
		}
		for _, name := range r.Config.Targets {
			run := r.run(name, sc)
			if run == nil {
				continue
			}
			errs, out := fmt.Sprint(run.Errors()), "—"
			if run.Errors() > 0 {
				errs = fmt.Sprintf("**%d**", run.Errors())
			}
			if run.SignOutsChecked {
				out = fmt.Sprint(run.SignedOut())
				if run.SignedOut() > 0 {
					out = fmt.Sprintf("**%d**", run.SignedOut())
				}
			}
			t.rows = append(t.rows, []string{name, fmt.Sprintf("%.0f", run.RPS),
				rel(run, scs, rps), rel(run, gc, rps), rel(run, bound, rps),
				fmt.Sprintf("%.2f", run.P50Ms), fmt.Sprintf("%.2f", run.P99Ms), rel(run, scs, func(x *Run) float64 { return x.P99Ms }),
				errs, out, fmt.Sprintf("%.1f", run.RedisCPUus), rel(run, scs, redisCPU),
				fmt.Sprintf("%.2f", run.CmdsPerReq), fmt.Sprintf("%.2f", run.RoundTripsPerReq),
				fmt.Sprintf("%.2f", run.WritesPerReq), fmt.Sprintf("%.3f", run.ConnsPerReq),
				fmt.Sprintf("%.0f", run.ServerCPUus), fmt.Sprintf("%.2f", run.ForeignCPU)})
		}
		if len(t.rows) > 0 {
			out = append(out, t)
		}
	}
	if len(r.Memory) > 0 {
		t := table{title: "Redis memory per logged-in session (used_memory delta over N logins of browsers without a cookie)",
			header: []string{"target", "names", "logins", "bytes/login", "×scs", "keys/login", "live sessions after", "bytes/live session"}}
		k := table{title: "Redis MEMORY USAGE per key kind, a name each (a sample of keys; excludes expiry entries and hash-table buckets)",
			header: []string{"target", "key kind", "type", "encoding", "avg bytes", "sampled", "example"}}
		for _, m := range r.Memory {
			names, label := m.Names, "a name each"
			if names == "" {
				names = "each"
			}
			if names == "one" {
				label = "one for all"
			}
			x := "—"
			if scs := r.memory("scs", names); scs != nil {
				x = ratioCell(m.BytesPerSession, scs.BytesPerSession)
			}
			live, perLive := "—", "—"
			if m.Live > 0 {
				live, perLive = fmt.Sprint(m.Live), fmt.Sprintf("%.0f", m.BytesPerLive)
			}
			t.rows = append(t.rows, []string{m.Target, label, fmt.Sprint(m.Logins), fmt.Sprintf("%.0f", m.BytesPerSession), x,
				fmt.Sprintf("%.2f", m.KeysPerSession), live, perLive})
			for _, kk := range m.KeyKinds {
				k.rows = append(k.rows, []string{m.Target, "`" + kk.Kind + "`", kk.Type, kk.Encoding,
					fmt.Sprintf("%.0f", kk.Bytes), fmt.Sprint(kk.Sampled), "`" + kk.Example + "`"})
			}
		}
		out = append(out, t)
		if len(k.rows) > 0 {
			out = append(out, k)
		}
	}
	if s := r.Scale; s != nil {
		t := table{title: "ours, logged-in GET / with few vs many sessions stored (median of runs)",
			header: []string{"sessions stored", "Redis keys", "used_memory MB", "req/s", "p99 ms", "Redis CPU µs/req",
				"Redis cmds/req", "errors and sign-outs", "runs (req/s)", "other CPUs (max)"}}
		for _, p := range []ScalePoint{s.Small, s.Large} {
			if p.Sessions == 0 {
				continue
			}
			t.rows = append(t.rows, []string{fmt.Sprint(p.Sessions), fmt.Sprint(p.Keys),
				fmt.Sprintf("%.0f", float64(p.UsedMemory)/1e6), fmt.Sprintf("%.0f", p.RPS), fmt.Sprintf("%.2f", p.P99Ms),
				fmt.Sprintf("%.1f", p.RedisCPUus), fmt.Sprintf("%.2f", p.CmdsPerReq), fmt.Sprint(p.Bad),
				joinFloats(p.RunsRPS), fmt.Sprintf("%.2f", p.ForeignCPU)})
		}
		out = append(out, t)
	}
	return out
}

func joinFloats(fs []float64) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = fmt.Sprintf("%.0f", f)
	}
	return strings.Join(s, " ")
}

// printTargets prints the targets side by side, the table to read first.
func printTargets(w io.Writer, rep *Report) {
	targetsTable(rep).markdown(w, "##")
}

func writeMarkdown(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "# Session benchmark results\n\n")
	fmt.Fprintf(w, "Generated by `bench/cmd/bench` (`make bench`); do not edit. What each figure means: [bench/README.md](../README.md).\n")
	fmt.Fprintf(w, "Ratios compare targets within one run; absolute figures move 10–30%% between runs on a shared machine.\n")
	targetsTable(rep).markdown(w, "##")
	for i, r := range rep.Passes {
		m := r.Machine
		var foreign float64
		for _, run := range r.Runs {
			foreign = max(foreign, run.ForeignCPU)
		}
		fmt.Fprintf(w, "\n## Run %d of %d: %s\n\n", i+1, len(rep.Passes), r.Started.Format("2006-01-02 15:04 UTC"))
		fmt.Fprintf(w, "%d CPUs (%s), %s RAM, Linux %s, %s, Redis %s, %s. ", m.CPUs, m.CPUModel, m.MemTotal, m.Kernel, m.Go, m.Redis, m.Wrk)
		fmt.Fprintf(w, "wrk %d threads, %d connections, %s warm-up then %s measured per run; %d logged-in sessions per index/cart run. ",
			r.Config.Threads, r.Config.Connections, r.Config.Warmup, r.Config.Duration, r.Config.Pool)
		fmt.Fprintf(w, "Other processes used up to %.2f CPUs during the measured runs (above about 0.1 the run shared the machine).\n", foreign)
		for _, t := range passTables(r) {
			t.markdown(w, "###")
		}
		if s := r.Scale; s != nil && s.Note != "" {
			fmt.Fprintf(w, "\n%s\n", s.Note)
		}
	}
}
