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

// targetTitle names the targets in table headers.
var targetTitle = map[string]string{
	"ours": "ours", "engine": "engine alone", "scs": "scs", "gincontrib": "gin-contrib", "nosession": "Gin, no session",
}

func tables(r *Results) []table {
	out := []table{summary(r)}
	for _, sc := range allScenarios {
		scs, bound := r.run("scs", sc), r.run("nosession", sc)
		t := table{
			title: fmt.Sprintf("%s — %d connections, %s per run", scenarioTitle[sc], r.Config.Connections, r.Config.Duration),
			header: []string{"target", "req/s", "×scs", "×no-session", "p50 ms", "p99 ms", "p99 ×scs",
				"bad", "RT/req", "cmds/req", "writes/req", "Redis µs/req", "Redis µs ×scs", "conns/req",
				"srv CPU µs/req", "redis-server CPU µs/req", "other CPUs"},
		}
		for _, name := range r.Config.Targets {
			run := r.run(name, sc)
			if run == nil {
				continue
			}
			rpsScs, rpsBound, p99Scs, usecScs := "—", "—", "—", "—"
			if scs != nil {
				rpsScs, p99Scs = ratioCell(run.RPS, scs.RPS), ratioCell(run.P99Ms, scs.P99Ms)
				usecScs = ratioCell(run.RedisUsecPerReq, scs.RedisUsecPerReq)
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
				fmt.Sprintf("%.2f", run.WritesPerReq), usecCell(run), usecScs, fmt.Sprintf("%.3f", run.ConnsPerReq),
				fmt.Sprintf("%.0f", run.ServerCPUus), fmt.Sprintf("%.0f", run.RedisCPUus), fmt.Sprintf("%.2f", run.ForeignCPU)})
		}
		if len(t.rows) > 0 {
			out = append(out, t)
		}
	}
	if len(r.Memory) > 0 {
		t := table{title: "Redis memory per logged-in session (used_memory delta over N logins of browsers without a cookie)",
			header: []string{"target", "names", "logins", "bytes/login", "×scs", "keys/login", "live sessions after", "bytes/live session"}}
		for _, m := range r.Memory {
			names := m.Names
			if names == "" {
				names = "each"
			}
			x := "—"
			if scs := r.memory("scs", names); scs != nil {
				x = ratioCell(m.BytesPerSession, scs.BytesPerSession)
			}
			live, perLive := "—", "—"
			if m.Live > 0 {
				live, perLive = fmt.Sprint(m.Live), fmt.Sprintf("%.0f", m.BytesPerLive)
			}
			label := "a name each"
			if names == "one" {
				label = "one for all"
			}
			t.rows = append(t.rows, []string{m.Target, label, fmt.Sprint(m.Logins), fmt.Sprintf("%.0f", m.BytesPerSession), x,
				fmt.Sprintf("%.2f", m.KeysPerSession), live, perLive})
		}
		out = append(out, t)
		k := table{title: "Redis MEMORY USAGE per key kind, a name each (a sample of keys; excludes expiry entries and hash-table buckets)",
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
		t := table{title: "Targets (ours, this run)", header: []string{"target", "want", "measured", "status"}}
		for _, c := range r.Checks {
			t.rows = append(t.rows, []string{c.Name, c.Want, c.Got, c.Status})
		}
		out = append(out, t)
	}
	return out
}

// usecCell is a run's Redis µs per request; runs of older results, which
// did not read commandstats usec, show a dash.
func usecCell(run *Run) string {
	if run.UsecBreakdown == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f", run.RedisUsecPerReq)
}

// summary is the one table to read first: per scenario and target, req/s
// with its ratios to scs and to Gin without sessions, p99, and Redis µs
// per request; then memory per session and the 1k vs 1M run.
func summary(r *Results) table {
	t := table{title: fmt.Sprintf("Summary — req/s (×scs, ×no-session: Gin without sessions), p99 ms (×scs), Redis µs per request from commandstats (×scs); %d connections, %s per run",
		r.Config.Connections, r.Config.Duration), header: []string{""}}
	var targets []string
	for _, name := range r.Config.Targets {
		targets = append(targets, name)
		t.header = append(t.header, targetTitle[name])
	}
	row := func(label string, cell func(name string) string) {
		cells := []string{label}
		for _, name := range targets {
			cells = append(cells, cell(name))
		}
		t.rows = append(t.rows, cells)
	}
	x := func(a, b float64) string { return strings.TrimSuffix(ratioCell(a, b), "x") }
	for _, sc := range allScenarios {
		scs, bound := r.run("scs", sc), r.run("nosession", sc)
		row(scenarioTitle[sc]+", req/s", func(name string) string {
			run := r.run(name, sc)
			if run == nil {
				return "—"
			}
			cell := fmt.Sprintf("%.0f", run.RPS)
			var rs []string
			if scs != nil && name != "scs" {
				rs = append(rs, x(run.RPS, scs.RPS)+"× scs")
			}
			if bound != nil && name != "nosession" {
				rs = append(rs, x(run.RPS, bound.RPS)+"× no-session")
			}
			if len(rs) > 0 {
				cell += " (" + strings.Join(rs, ", ") + ")"
			}
			if run.Bad() > 0 {
				cell += fmt.Sprintf(" **%d ERRORS**", run.Bad())
			}
			return cell
		})
	}
	for _, sc := range allScenarios {
		scs := r.run("scs", sc)
		row(scenarioTitle[sc]+", p99 ms", func(name string) string {
			run := r.run(name, sc)
			if run == nil {
				return "—"
			}
			cell := fmt.Sprintf("%.2f", run.P99Ms)
			if scs != nil && name != "scs" {
				cell += " (" + x(run.P99Ms, scs.P99Ms) + "×)"
			}
			return cell
		})
	}
	for _, sc := range allScenarios {
		scs := r.run("scs", sc)
		row(scenarioTitle[sc]+", Redis µs/req", func(name string) string {
			run := r.run(name, sc)
			if run == nil || name == "nosession" {
				return "—"
			}
			cell := usecCell(run)
			if scs != nil && name != "scs" && scs.RedisUsecPerReq > 0 && run.UsecBreakdown != nil {
				cell += " (" + x(run.RedisUsecPerReq, scs.RedisUsecPerReq) + "×)"
			}
			return cell
		})
	}
	for _, names := range []string{"each", "one"} {
		label := "Redis bytes per session, a name each"
		if names == "one" {
			label = "Redis bytes per live session, one name for all"
		}
		row(label, func(name string) string {
			m := r.memory(name, names)
			if m == nil {
				return "—"
			}
			if names == "one" {
				if m.Live == 0 {
					return "—"
				}
				cell := fmt.Sprintf("%.0f", m.BytesPerLive)
				if m.Live < m.Logins {
					cell += fmt.Sprintf(" (%d of %d live)", m.Live, m.Logins)
				}
				return cell
			}
			return fmt.Sprintf("%.0f", m.BytesPerSession)
		})
	}
	if s := r.Scale; s != nil && s.Small.RPS > 0 && s.Large.RPS > 0 {
		row(fmt.Sprintf("logged-in GET /, %s vs %s sessions stored", countLabel(s.Large.Sessions), countLabel(s.Small.Sessions)), func(name string) string {
			if name != "ours" {
				return "—"
			}
			return fmt.Sprintf("%.2f× (%.0f vs %.0f req/s)", s.Large.RPS/s.Small.RPS, s.Large.RPS, s.Small.RPS)
		})
	}
	return t
}

// countLabel writes 1000 as 1k and 1000000 as 1M.
func countLabel(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func joinFloats(fs []float64) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = fmt.Sprintf("%.0f", f)
	}
	return strings.Join(s, " ")
}

// printSummary prints the summary and the targets, the tables to read
// first.
func printSummary(w io.Writer, r *Results) {
	all := tables(r)
	all[0].text(w)
	if last := all[len(all)-1]; len(r.Checks) > 0 {
		last.text(w)
	}
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
	fmt.Fprintf(w, "\n![req/s and Redis µs per request, per scenario and target](chart.svg)\n")
}
