package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

var targetColor = map[string]string{
	"ours": "#1f5fa8", "engine": "#8fb8e0", "scs": "#e8822a", "gincontrib": "#3a9a4a", "nosession": "#8a8a8a",
}

var targetLabel = map[string]string{
	"ours": "ours (cmd/server)", "engine": "ours: engine only", "scs": "scs + go-redis",
	"gincontrib": "gin-contrib/sessions redis", "nosession": "Gin, no session",
}

// panel is one bar chart of a ratio per scenario and target.
type panel struct {
	title string
	value func(run, scs, bound *Run) float64 // 0: no bar
	lines map[string]float64                 // scenario ("" = all) -> reference line
}

// svgChart draws the ratios of r as a self-contained SVG.
func svgChart(r *Results) string {
	panels := []panel{
		{title: "req/s relative to scs (higher is better; dashes: issue 4 targets for ours)",
			value: func(run, scs, _ *Run) float64 { return div(run, scs, func(x *Run) float64 { return x.RPS }) },
			lines: map[string]float64{"": 1, "index": 1.5, "cart": 1.3, "login": 1.2}},
		{title: "req/s relative to Gin without sessions (the upper bound)",
			value: func(run, _, bound *Run) float64 { return div(run, bound, func(x *Run) float64 { return x.RPS }) },
			lines: map[string]float64{"": 1, "index": 0.5}},
		{title: "p99 latency relative to scs (lower is better)",
			value: func(run, scs, _ *Run) float64 { return div(run, scs, func(x *Run) float64 { return x.P99Ms }) },
			lines: map[string]float64{"": 1}},
	}
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
	const W, panelH, top, left, right = 960, 250, 70, 60, 20
	H := top + len(panels)*(panelH+50) + 20
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", W, H)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="16" font-weight="bold">Session benchmark: ratios (%s, %d CPUs, %d connections, %s runs)</text>`+"\n",
		left, r.Started.Format("2006-01-02"), r.Machine.CPUs, r.Config.Connections, r.Config.Duration)
	// legend
	x := left
	for _, t := range targets {
		fmt.Fprintf(&b, `<rect x="%d" y="36" width="12" height="12" fill="%s"/><text x="%d" y="46">%s</text>`+"\n",
			x, targetColor[t], x+16, html.EscapeString(targetLabel[t]))
		x += 24 + 7*len(targetLabel[t])
	}
	for i, p := range panels {
		y0 := top + i*(panelH+50)
		drawPanel(&b, r, p, scenarios, targets, left, y0, W-left-right, panelH)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func div(a, b *Run, f func(*Run) float64) float64 {
	if a == nil || b == nil || f(b) == 0 {
		return 0
	}
	return f(a) / f(b)
}

func drawPanel(b *strings.Builder, r *Results, p panel, scenarios, targets []string, x0, y0, w, h int) {
	vals := map[string]map[string]float64{}
	maxV := 0.0
	for _, sc := range scenarios {
		vals[sc] = map[string]float64{}
		scs, bound := r.run("scs", sc), r.run("nosession", sc)
		for _, t := range targets {
			if v := p.value(r.run(t, sc), scs, bound); v > 0 {
				vals[sc][t] = v
				maxV = math.Max(maxV, v)
			}
		}
	}
	for _, v := range p.lines {
		maxV = math.Max(maxV, v)
	}
	step := niceStep(maxV)
	yMax := math.Ceil(maxV*1.1/step) * step
	if yMax == 0 {
		yMax = 1
	}
	plotTop := y0 + 24
	plotH := h - 40
	y := func(v float64) float64 { return float64(plotTop+plotH) - v/yMax*float64(plotH) }
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", x0, y0+12, html.EscapeString(p.title))
	for v := 0.0; v <= yMax+1e-9; v += step {
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e4e4e4"/><text x="%d" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n",
			x0, x0+w, y(v), y(v), x0-6, y(v)+4, trimFloat(v)+"x")
	}
	if ref, ok := p.lines[""]; ok {
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#222" stroke-width="1.2"/>`+"\n", x0, x0+w, y(ref), y(ref))
	}
	if len(scenarios) == 0 {
		return
	}
	groupW := float64(w) / float64(len(scenarios))
	barW := math.Min(40, (groupW-30)/float64(len(targets)))
	for gi, sc := range scenarios {
		gx := float64(x0) + float64(gi)*groupW + (groupW-barW*float64(len(targets)))/2
		for ti, t := range targets {
			v, ok := vals[sc][t]
			if !ok {
				continue
			}
			bx := gx + float64(ti)*barW
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %.2fx</title></rect>`+"\n",
				bx+1, y(v), barW-2, y(0)-y(v), targetColor[t], html.EscapeString(targetLabel[t]), scenarioTitle[sc], v)
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%.2f</text>`+"\n", bx+barW/2, y(v)-3, v)
			if ref, ok := p.lines[sc]; ok && t == "ours" {
				fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#c00" stroke-width="2" stroke-dasharray="4 2"/>`+"\n",
					bx-4, bx+barW+4, y(ref), y(ref))
			}
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n",
			float64(x0)+float64(gi)*groupW+groupW/2, plotTop+plotH+16, html.EscapeString(scenarioTitle[sc]))
	}
}

func niceStep(max float64) float64 {
	for _, s := range []float64{0.25, 0.5, 1, 2, 5, 10, 20, 50} {
		if max/s <= 6 {
			return s
		}
	}
	return 100
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
