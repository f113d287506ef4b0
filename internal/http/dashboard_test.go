package http

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// dashboardPath is the Grafana dashboard shipped for these metrics.
const dashboardPath = "../../deploy/grafana/sessiond-dashboard.json"

var (
	// selectorName is a metric name followed by its label matchers: the
	// dashboard always selects by job and instance, so every metric has
	// them.
	selectorName = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{`)
	labelValues  = regexp.MustCompile(`label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	bareName     = regexp.MustCompile(`\b(sessiond|go|process)_[a-zA-Z0-9_:]*`)
	matchers     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\{[^}]*\}`)
)

// TestDashboardMetricsExist: every metric the dashboard queries is in
// /metrics of a Redis-backed replica after some traffic, so no panel is
// empty because of a renamed or missing metric.
func TestDashboardMetricsExist(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}

	r := newWorld(t).replica("r1", options{loginLimit: 100})
	b := newBrowser(t)
	b.login(r, "dash")
	expect(t, b.post(r.url+"/cart/add", "item", "kiwi"), http.StatusSeeOther)
	expect(t, b.get(r.url+"/api/me"), http.StatusOK)
	expect(t, b.post(r.url+"/logout"), http.StatusSeeOther)
	exposition := b.get(r.url + "/metrics").text
	exported := map[string]bool{}
	for _, line := range strings.Split(exposition, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		exported[name] = true
	}

	checked := 0
	check := func(where, expr string, names []string) {
		if len(names) == 0 {
			t.Errorf("%s: no metric found in %q", where, expr)
		}
		for _, n := range names {
			checked++
			if !exported[n] {
				t.Errorf("%s: %s is not in /metrics (expr %q)", where, n, expr)
			}
		}
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			var names []string
			for _, m := range selectorName.FindAllStringSubmatch(tg.Expr, -1) {
				names = append(names, m[1])
			}
			if rest := matchers.ReplaceAllString(tg.Expr, ""); bareName.MatchString(rest) {
				t.Errorf("panel %q: a metric without label matchers in %q (select by job and instance)", p.Title, tg.Expr)
			}
			check("panel "+p.Title, tg.Expr, names)
		}
	}
	for _, v := range dash.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			check("variable "+v.Name, v.Definition, []string{m[1]})
		}
	}
	// The other way round for the Redis pool: every pool metric exported
	// (go-redis' redisprometheus collector and ours) has a panel.
	used := map[string]bool{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range selectorName.FindAllStringSubmatch(tg.Expr, -1) {
				used[m[1]] = true
			}
		}
	}
	pool := 0
	for name := range exported {
		if strings.HasPrefix(name, "sessiond_redis_pool_") {
			pool++
			if !used[name] {
				t.Errorf("%s is exported but on no panel", name)
			}
		}
	}
	if pool < 10 {
		t.Errorf("%d Redis pool metrics exported, want the 6 of redisprometheus and our 4", pool)
	}
	if checked < 20 {
		t.Fatalf("only %d metric references checked: is the dashboard read right?", checked)
	}
}
