package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

var targetColor = map[string]string{
	"ours": "#1f5fa8", "engine": "#7aa7d6", "scs": "#e07b20", "gincontrib": "#3a9a4a", "nosession": "#8a8a8a",
}

var targetLabel = map[string]string{
	"ours": "sessiond", "engine": "sessiond engine alone", "scs": "scs + go-redis",
	"gincontrib": "gin-contrib redis", "nosession": "Gin, no session",
}

// goal is the value ours should reach in a panel, from the scenario's
// runs; 0 for none.
type goal func(run func(target string) *Run) float64

// chartPanel is one scenario's bars, one per target.
type chartPanel struct {
	title  string
	unit   string // after the value: "", " µs"
	note   string // under the title
	value  func(*Run) float64
	format func(float64) string
	// ratioTo names the target each value is compared with in its label.
	ratioTo string
	// goal, when set, adds a row right under ours: an outlined bar up to
	// the value ours should reach, so the two can be compared at a glance.
	goal goal
	skip map[string]bool // targets without a bar (no Redis at all)
}

// reqGoals are issue 12's throughput targets for ours, per scenario.
var reqGoals = map[string]goal{
	"index": func(run func(string) *Run) float64 {
		return math.Max(rpsOf(run("scs"))*1.5, rpsOf(run("gincontrib"))*2)
	},
	"cart":  func(run func(string) *Run) float64 { return rpsOf(run("scs")) * 1.3 },
	"login": func(run func(string) *Run) float64 { return rpsOf(run("scs")) * 1.2 },
	"anon":  func(run func(string) *Run) float64 { return rpsOf(run("nosession")) * 0.9 },
}

var goalName = map[string]string{
	"index": "1.5× scs and 2× gin-contrib",
	"cart":  "1.3× scs",
	"login": "1.2× scs",
	"anon":  "0.9× Gin without sessions",
}

func rpsOf(r *Run) float64 {
	if r == nil {
		return 0
	}
	return r.RPS
}

const goalColor = "#c0262d"

// svgChart draws, for each scenario, the req/s of every target (left) and
// the Redis time per request (right), as horizontal bars on a scale of
// their own that starts at zero, with the goal for ours as a row of its
// own under ours.
func svgChart(r *Results) string {
	var scenarios []string
	for _, sc := range allScenarios {
		for _, t := range r.Config.Targets {
			if r.run(t, sc) != nil {
				scenarios = append(scenarios, sc)
				break
			}
		}
	}
	targets := r.Config.Targets
	hasUsec := false
	for _, run := range r.Runs {
		if run.UsecBreakdown != nil {
			hasUsec = true
		}
	}

	const W, margin, gap, headerH, barH, barGap = 1400, 24, 48, 76, 20, 6
	cols := 1
	if hasUsec {
		cols = 2
	}
	colW := (W - 2*margin - (cols-1)*gap) / cols
	rows := len(targets)
	if contains(targets, "ours") {
		rows++ // the goal row
	}
	panelH := 44 + rows*(barH+barGap) + 22
	H := headerH + len(scenarios)*(panelH+20) + 40

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Verdana, sans-serif" font-size="13" fill="#222">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", W, H)
	fmt.Fprintf(&b, `<text x="%d" y="30" font-size="20" font-weight="bold">sessiond and its peers, same machine, same load</text>`+"\n", margin)
	fmt.Fprintf(&b, `<text x="%d" y="54" fill="#555">%s · %d CPUs shared by wrk, the server and Redis · %d connections · %s per run · each ratio compares with scs</text>`+"\n",
		margin, r.Started.Format("2006-01-02"), r.Machine.CPUs, r.Config.Connections, r.Config.Duration)

	for i, sc := range scenarios {
		y0 := headerH + i*(panelH+20)
		run := func(t string) *Run { return r.run(t, sc) }
		drawBars(&b, chartPanel{
			title: scenarioTitle[sc] + ": requests per second", note: "higher is better · goal for sessiond: " + goalName[sc],
			value: func(x *Run) float64 { return x.RPS }, format: thousands,
			ratioTo: "scs", goal: reqGoals[sc],
		}, targets, run, margin, y0, colW)
		if hasUsec {
			note := "lower is better · INFO commandstats, each script counted once"
			if sc == "anon" {
				note = "no Redis call at all: no session is stored for anyone"
			}
			drawBars(&b, chartPanel{
				title: scenarioTitle[sc] + ": Redis µs per request", unit: " µs", note: note,
				value: func(x *Run) float64 { return x.RedisUsecPerReq }, format: func(v float64) string { return fmt.Sprintf("%.1f", v) },
				ratioTo: "scs", skip: map[string]bool{"nosession": true},
			}, targets, run, margin+colW+gap, y0, colW)
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555" font-size="12">Each panel has its own scale, from zero. ⚠: other processes used over 0.1 CPUs during that run, so it is low. Goal for Redis: no more than scs. Tables: results.md.</text>`+"\n", margin, H-16)
	b.WriteString("</svg>\n")
	return b.String()
}

// drawBars draws one panel: a title, a note, and a bar per target with its
// value and ratio written after it.
func drawBars(b *strings.Builder, p chartPanel, targets []string, run func(string) *Run, x0, y0, w int) {
	const barH, barGap, labelW, valueW = 20, 6, 150, 170
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="15" font-weight="bold">%s</text>`+"\n", x0, y0+14, html.EscapeString(p.title))
	fmt.Fprintf(b, `<text x="%d" y="%d" fill="#555" font-size="12">%s</text>`+"\n", x0, y0+32, html.EscapeString(p.note))
	plotX := x0 + labelW
	plotW := w - labelW - valueW
	top := y0 + 44
	ref := run(p.ratioTo)

	type row struct {
		name, label string
		run         *Run
		goal        bool
	}
	var rows []row
	var maxV float64
	goalV := 0.0
	if p.goal != nil {
		goalV = p.goal(run)
	}
	for _, t := range targets {
		x := run(t)
		rows = append(rows, row{name: t, label: targetLabel[t], run: x})
		if x != nil && !p.skip[t] {
			maxV = math.Max(maxV, p.value(x))
		}
		if t == "ours" && p.goal != nil {
			rows = append(rows, row{name: "goal", label: "goal", goal: true})
			maxV = math.Max(maxV, goalV)
		}
	}
	allZero := maxV == 0
	if allZero {
		maxV = 1
	}
	step := niceStep(maxV)
	axisMax := math.Ceil(maxV/step) * step
	xOf := func(v float64) float64 { return float64(plotX) + v/axisMax*float64(plotW) }
	bottom := top + len(rows)*(barH+barGap)
	for v := 0.0; v <= axisMax+1e-9 && !allZero; v += step {
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#e6e6e6"/>`, xOf(v), xOf(v), top-4, bottom)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#666" font-size="11">%s</text>`+"\n", xOf(v), bottom+14, tick(v))
	}
	for i, rw := range rows {
		y := top + i*(barH+barGap)
		mid := y + barH/2 + 5
		weight, fill := "normal", "#222"
		switch {
		case rw.name == "ours":
			weight = "bold"
		case rw.goal:
			fill = goalColor
		}
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end" font-weight="%s" fill="%s">%s</text>`, plotX-8, mid, weight, fill, html.EscapeString(rw.label))
		if rw.goal {
			if goalV > 0 {
				fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="5 3"/>`,
					plotX+1, y+2, xOf(goalV)-float64(plotX)-2, barH-4, goalColor)
				fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="%s">%s%s</text>`+"\n", xOf(goalV)+6, mid, goalColor, p.format(goalV), p.unit)
			}
			continue
		}
		x := rw.run
		switch {
		case x == nil:
			continue
		case p.skip[rw.name]:
			fmt.Fprintf(b, `<text x="%d" y="%d" fill="#666">none</text>`+"\n", plotX+6, mid)
			continue
		case allZero:
			fmt.Fprintf(b, `<text x="%d" y="%d" fill="#666">0</text>`+"\n", plotX+6, mid)
			continue
		}
		v := p.value(x)
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s%s</title></rect>`,
			plotX, y, xOf(v)-float64(plotX), barH, targetColor[rw.name], html.EscapeString(rw.label), p.format(v), p.unit)
		label := p.format(v) + p.unit
		if ref != nil && rw.name != p.ratioTo && p.value(ref) > 0 {
			label += fmt.Sprintf(" · %.2f× %s", v/p.value(ref), p.ratioTo)
		}
		if x.ForeignCPU > 0.1 {
			label += " ⚠"
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%d" font-weight="%s">%s</text>`+"\n", xOf(v)+6, mid, weight, html.EscapeString(label))
	}
}

// thousands writes 12049.3 as 12,049.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// tick writes an axis value: 20000 as 20k, 2.5 as 2.5.
func tick(v float64) string {
	if v >= 1000 {
		return trimFloat(v/1000) + "k"
	}
	return trimFloat(v)
}

// niceStep is a round step that gives at most 5 intervals up to max.
func niceStep(max float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(max)))
	for _, m := range []float64{0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10} {
		if s := m * mag; max/s <= 5 {
			return s
		}
	}
	return 10 * mag
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
