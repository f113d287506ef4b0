package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// table is a header and rows of cells, rendered as text or Markdown.
type table struct {
	title  string
	header []string
	rows   [][]string
}

func (t table) text(w io.Writer) {
	fmt.Fprintf(w, "\n%s\n", t.title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(t.header, "\t")+"\t")
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
	}
	tw.Flush()
}

func (t table) markdown(w io.Writer) {
	fmt.Fprintf(w, "\n### %s\n\n", t.title)
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

func ratioCell(a, b float64) string {
	if b == 0 || a == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func tables(r *Results) []table {
	var out []table
	for _, sc := range allScenarios {
		scs, bound := r.run("scs", sc), r.run("nosession", sc)
		t := table{
			title: fmt.Sprintf("%s — %d connections, %s per run", scenarioTitle[sc], r.Config.Connections, r.Config.Duration),
			header: []string{"target", "req/s", "×scs", "×bound", "p50 ms", "p99 ms", "p99 ×scs",
				"bad", "RT/req", "cmds/req", "writes/req", "conns/req", "srv CPU µs/req", "redis CPU µs/req", "other CPUs"},
		}
		for _, name := range r.Config.Targets {
			run := r.run(name, sc)
			if run == nil {
				continue
			}
			var rpsScs, rpsBound, p99Scs string = "—", "—", "—"
			if scs != nil {
				rpsScs, p99Scs = ratioCell(run.RPS, scs.RPS), ratioCell(run.P99Ms, scs.P99Ms)
			}
			if bound != nil {
				rpsBound = ratioCell(run.RPS, bound.RPS)
			}
			bad := fmt.Sprint(run.Bad())
			if run.Bad() > 0 {
				bad = fmt.Sprintf("**%d ERRORS**", run.Bad())
			}
			t.rows = append(t.rows, []string{name, fmt.Sprintf("%.0f", run.RPS), rpsScs, rpsBound,
				fmt.Sprintf("%.2f", run.P50Ms), fmt.Sprintf("%.2f", run.P99Ms), p99Scs, bad,
				fmt.Sprintf("%.2f", run.RoundTripsPerReq), fmt.Sprintf("%.2f", run.CmdsPerReq),
				fmt.Sprintf("%.2f", run.WritesPerReq), fmt.Sprintf("%.3f", run.ConnsPerReq),
				fmt.Sprintf("%.0f", run.ServerCPUus), fmt.Sprintf("%.0f", run.RedisCPUus), fmt.Sprintf("%.2f", run.ForeignCPU)})
		}
		if len(t.rows) > 0 {
			out = append(out, t)
		}
	}
	if len(r.Memory) > 0 {
		t := table{title: "Redis memory per logged-in session (used_memory delta over N logins)",
			header: []string{"target", "bytes/session", "×scs", "keys/session", "logins"}}
		scs := r.memory("scs")
		for _, m := range r.Memory {
			x := "—"
			if scs != nil {
				x = ratioCell(m.BytesPerSession, scs.BytesPerSession)
			}
			t.rows = append(t.rows, []string{m.Target, fmt.Sprintf("%.0f", m.BytesPerSession), x,
				fmt.Sprintf("%.2f", m.KeysPerSession), fmt.Sprint(m.Logins)})
		}
		out = append(out, t)
		k := table{title: "Redis MEMORY USAGE per key kind (a sample of keys; excludes expiry entries and hash-table buckets)",
			header: []string{"target", "key kind", "type", "encoding", "avg bytes", "sampled", "example"}}
		for _, m := range r.Memory {
			for _, kk := range m.KeyKinds {
				k.rows = append(k.rows, []string{m.Target, "`" + kk.Kind + "`", kk.Type, kk.Encoding,
					fmt.Sprintf("%.0f", kk.Bytes), fmt.Sprint(kk.Sampled), "`" + kk.Example + "`"})
			}
		}
		if len(k.rows) > 0 {
			out = append(out, k)
		}
	}
	if s := r.Scale; s != nil {
		t := table{title: "ours, logged-in GET / with few vs many sessions stored (median of runs)",
			header: []string{"sessions stored", "Redis keys", "used_memory MB", "req/s", "p99 ms", "runs (req/s)", "other CPUs (max)"}}
		for _, p := range []ScalePoint{s.Small, s.Large} {
			if p.Sessions == 0 {
				continue
			}
			t.rows = append(t.rows, []string{fmt.Sprint(p.Sessions), fmt.Sprint(p.Keys),
				fmt.Sprintf("%.0f", float64(p.UsedMemory)/1e6), fmt.Sprintf("%.0f", p.RPS),
				fmt.Sprintf("%.2f", p.P99Ms), joinFloats(p.RunsRPS), fmt.Sprintf("%.2f", p.ForeignCPU)})
		}
		out = append(out, t)
	}
	for _, sc := range allScenarios {
		var profs []Profile
		for _, p := range r.Profiles {
			if p.Scenario == sc {
				profs = append(profs, p)
			}
		}
		if len(profs) == 0 {
			continue
		}
		t := table{title: fmt.Sprintf("Where the CPU goes: %s (separate profiling run, %% of the process' CPU samples, cumulative)", scenarioTitle[sc]),
			header: []string{"component"}}
		for _, p := range profs {
			t.header = append(t.header, p.Target)
		}
		row := func(name string, f func(p Profile) string) {
			cells := []string{name}
			for _, p := range profs {
				cells = append(cells, f(p))
			}
			t.rows = append(t.rows, cells)
		}
		row("req/s while profiling", func(p Profile) string { return fmt.Sprintf("%.0f", p.RPS) })
		row("server CPU µs/req", func(p Profile) string { return fmt.Sprintf("%.0f", p.CPUSecondsReq) })
		row("allocs/req", func(p Profile) string { return fmt.Sprintf("%.0f", p.AllocsPerReq) })
		row("alloc bytes/req", func(p Profile) string { return fmt.Sprintf("%.0f", p.AllocBytesReq) })
		for _, c := range components {
			row(c.name, func(p Profile) string {
				for _, sh := range p.Breakdown {
					if sh.Component == c.name {
						return fmt.Sprintf("%.1f%%", sh.Percent)
					}
				}
				return "—"
			})
		}
		out = append(out, t)
	}
	if len(r.Checks) > 0 {
		t := table{title: "Issue 4 targets (ours)", header: []string{"target", "want", "measured", "status"}}
		for _, c := range r.Checks {
			t.rows = append(t.rows, []string{c.Name, c.Want, c.Got, c.Status})
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

func printTables(w io.Writer, r *Results) {
	for _, t := range tables(r) {
		t.text(w)
	}
	if s := r.Scale; s != nil && s.Note != "" {
		fmt.Fprintf(w, "\nscale: %s\n", s.Note)
	}
}

func writeMarkdown(w io.Writer, r *Results) {
	m := r.Machine
	fmt.Fprintf(w, "# Session benchmark results\n\n")
	fmt.Fprintf(w, "Run %s, %d CPUs (%s), %s RAM, Linux %s, %s, Redis %s, %s.\n",
		r.Started.Format("2006-01-02 15:04 UTC"), m.CPUs, m.CPUModel, m.MemTotal, m.Kernel, m.Go, m.Redis, m.Wrk)
	fmt.Fprintf(w, "wrk %d threads, %d connections, %s warm-up then %s measured per run; %d logged-in sessions per index/cart run. ",
		r.Config.Threads, r.Config.Connections, r.Config.Warmup, r.Config.Duration, r.Config.Pool)
	fmt.Fprintf(w, "Load generator, servers and redis-server share the machine. ")
	fmt.Fprintf(w, "bad = responses with another status than expected (200 for logged-in GET /, a redirect otherwise) plus socket errors and timeouts. ")
	fmt.Fprintf(w, "RT = Redis round trips (reads the server processed), cmds include those run inside Lua scripts.\n")
	for _, t := range tables(r) {
		t.markdown(w)
	}
	if s := r.Scale; s != nil && s.Note != "" {
		fmt.Fprintf(w, "\n%s\n", s.Note)
	}
	fmt.Fprintf(w, "\n![ratios](ratios.svg)\n")
}
