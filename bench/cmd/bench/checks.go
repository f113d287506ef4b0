package main

import (
	"fmt"
	"strings"
)

// Check is one of the service's performance targets (issue 20), judged on
// one pass: ratios are to the peers of the same pass.
type Check struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	// Status is "met", "missed" or "not measured".
	Status string `json:"status"`
}

// checks judges r by issue 20's targets.
func checks(r *Results) []Check {
	var out []Check
	// add judges one target; judge returns the measured figure, whether it
	// meets the target, and whether it was measured at all.
	add := func(name, want string, judge func() (got string, met, measured bool)) {
		got, met, measured := judge()
		st := "not measured"
		if measured {
			st = "missed"
			if met {
				st = "met"
			}
		}
		out = append(out, Check{Name: name, Want: want, Got: got, Status: st})
	}
	// clean notes what makes a comparison of two runs void: errors or
	// sign-outs in either.
	clean := func(o, p *Run) (string, bool) {
		var notes []string
		if n := o.Errors() + o.SignedOut(); n > 0 {
			notes = append(notes, fmt.Sprintf("ours: %d errors or sign-outs", n))
		}
		if n := p.Errors() + p.SignedOut(); n > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d errors or sign-outs", p.Target, n))
		}
		if len(notes) == 0 {
			return "", true
		}
		return " (" + strings.Join(notes, "; ") + ")", false
	}
	rps := func(sc, peer string, want float64) func() (string, bool, bool) {
		return func() (string, bool, bool) {
			o, p := r.run("ours", sc), r.run(peer, sc)
			if o == nil || p == nil || p.RPS == 0 {
				return "", false, false
			}
			x := o.RPS / p.RPS
			note, ok := clean(o, p)
			return fmt.Sprintf("%.2f× (%.0f vs %.0f req/s)%s", x, o.RPS, p.RPS, note), x >= want && ok, true
		}
	}
	add("logged-in GET / vs scs", "≥ 1.5×", rps("index", "scs", 1.5))
	add("logged-in GET / vs gin-contrib", "≥ 2×", rps("index", "gincontrib", 2))
	add("POST /cart/add vs scs", "≥ 1.3×", rps("cart", "scs", 1.3))
	add("POST /login, a name each, vs scs", "≥ 1.2×", rps("login", "scs", 1.2))
	add("POST /login, one name for all, vs scs", "≥ 0.9×", rps("loginone", "scs", 0.9))
	add("anonymous GET / vs Gin without sessions", "≥ 0.9×", rps("anon", "nosession", 0.9))
	for _, sc := range allScenarios {
		add("p99, "+scenarioTitle[sc]+", vs scs", "≤ scs", func() (string, bool, bool) {
			o, p := r.run("ours", sc), r.run("scs", sc)
			if o == nil || p == nil {
				return "", false, false
			}
			return fmt.Sprintf("%.2f vs %.2f ms", o.P99Ms, p.P99Ms), o.P99Ms <= p.P99Ms, true
		})
	}
	redisCPU := func(sc string, want float64) {
		add("Redis CPU per request, "+scenarioTitle[sc]+", vs scs", fmt.Sprintf("≤ %.1f× scs", want), func() (string, bool, bool) {
			o, p := r.run("ours", sc), r.run("scs", sc)
			if o == nil || p == nil || p.RedisCPUus == 0 {
				return "", false, false
			}
			x := o.RedisCPUus / p.RedisCPUus
			return fmt.Sprintf("%.2f× (%.1f vs %.1f µs)", x, o.RedisCPUus, p.RedisCPUus), x <= want, true
		})
	}
	redisCPU("index", 0.5)
	redisCPU("cart", 0.5)
	redisCPU("login", 0.5)
	redisCPU("loginone", 2)
	// Commands, not round trips: loads batched with other requests'
	// (go-redis' AutoPipeliner) share a round trip.
	add("Redis commands per read-only request (logged-in and anonymous GET /)", "≤ 1", func() (string, bool, bool) {
		var figs []string
		met, measured := true, false
		for _, sc := range []string{"index", "anon"} {
			if o := r.run("ours", sc); o != nil {
				measured = true
				met = met && o.CmdsPerReq <= 1.005
				figs = append(figs, fmt.Sprintf("%s %.3f (%.2f round trips, %.3f writes)", sc, o.CmdsPerReq, o.RoundTripsPerReq, o.WritesPerReq))
			}
		}
		return strings.Join(figs, "; "), met, measured
	})
	add("Redis bytes per session, a name each (index included)", "≤ 250", func() (string, bool, bool) {
		m := r.memory("ours", "each")
		if m == nil {
			return "", false, false
		}
		return fmt.Sprintf("%.0f bytes", m.BytesPerSession), m.BytesPerSession <= 250, true
	})
	add("logged-in GET / with many sessions stored vs few", "≥ 0.9×", func() (string, bool, bool) {
		s := r.Scale
		if s == nil || s.Small.RPS == 0 || s.Large.RPS == 0 {
			return "", false, false
		}
		x := s.Large.RPS / s.Small.RPS
		return fmt.Sprintf("%.2f× (%s: %.0f req/s; %s: %.0f req/s)", x,
			countLabel(s.Large.Sessions), s.Large.RPS, countLabel(s.Small.Sessions), s.Small.RPS), x >= 0.9, true
	})
	add("errors in the runs of ours", "0", func() (string, bool, bool) {
		var n int64
		measured := false
		for _, run := range r.Runs {
			if run.Target == "ours" {
				measured = true
				n += run.Errors()
			}
		}
		if r.Scale != nil {
			n += r.Scale.Small.Bad + r.Scale.Large.Bad
		}
		return fmt.Sprint(n), n == 0, measured
	})
	add("cookies signed out by a logged-in run of ours", "0", func() (string, bool, bool) {
		var during, after int64
		measured := false
		for _, run := range r.Runs {
			if run.Target == "ours" && run.SignOutsChecked {
				measured = true
				during += run.SignedOutResponses
				after += run.SignedOutAfter
			}
		}
		return fmt.Sprintf("%d answers, %d cookies after", during, after), during+after == 0, measured
	})
	return out
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
