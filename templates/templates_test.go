package templates

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/userdata"
)

func sample() map[string]*Page {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	user := `<b>"O'Neil"</b>`
	return map[string]*Page{
		"index": {Title: "Home", User: user, Replica: "r1", Notices: []string{"Added 2 × <apple>."},
			Message: "bad <qty>", Data: userdata.Snapshot{Theme: userdata.Dark, Cart: userdata.Cart{{Item: "<apple>", Qty: 2}, {Item: "pear", Qty: 1}}}},
		"login":  {Title: "Sign in", Replica: "r1", Message: "Please enter a name.", Name: `"><script>`},
		"logout": {Title: "Log out", Replica: "r1", User: user, Data: userdata.Snapshot{Theme: userdata.Light}},
		"sessions": {Title: "Your sessions", Replica: "r1", User: user, Data: userdata.Snapshot{Theme: userdata.Light},
			Sessions: &SessionList{Now: now, IdleTimeout: time.Hour, Lifetime: 24 * time.Hour, Rows: []SessionRow{
				{ID: "0123456789abcdef", Device: "Firefox on Linux", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour), Current: true},
				{ID: "fedcba9876543210", Device: "<curl>", CreatedAt: now.Add(-23 * time.Hour), LastSeen: now.Add(-5 * time.Minute), ExpiresAt: now.Add(time.Hour)},
			}}},
		"error": {Title: "Service Unavailable", Replica: "r1", Status: 503, Message: "Try again."},
	}
}

func TestPagesRender(t *testing.T) {
	p, err := Parse()
	if err != nil {
		t.Fatal(err)
	}
	labelFor := regexp.MustCompile(`<label for="([^"]+)"`)
	inputID := regexp.MustCompile(`<input id="([^"]+)"`)
	for name, data := range sample() {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := p.Render(&buf, name, data); err != nil {
				t.Fatal(err)
			}
			html := buf.String()
			// CSP allows no inline script or style, and the machine is offline.
			for _, banned := range []string{"<script", " style=", "<style", "javascript:", "http://", "https://"} {
				if strings.Contains(strings.ToLower(html), banned) {
					t.Errorf("page has %q", banned)
				}
			}
			if regexp.MustCompile(` on[a-z]+=`).MatchString(html) {
				t.Error("page has an inline event handler")
			}
			if !strings.Contains(html, `<link rel="stylesheet" href="/static/style.css?v=`) ||
				!strings.Contains(html, `name="viewport"`) || !strings.Contains(html, `<html lang="en">`) {
				t.Error("head incomplete")
			}
			if !strings.Contains(html, "Served by replica <code>r1</code>") {
				t.Error("footer lacks the replica")
			}
			if strings.Contains(html, `<b>"O'Neil"</b>`) || strings.Contains(html, "<apple>") || strings.Contains(html, "<curl>") || strings.Contains(html, `"><script>`) {
				t.Error("user data not escaped")
			}
			labels := map[string]bool{}
			for _, m := range labelFor.FindAllStringSubmatch(html, -1) {
				labels[m[1]] = true
			}
			for _, m := range inputID.FindAllStringSubmatch(html, -1) {
				if !labels[m[1]] {
					t.Errorf("input %q has no label", m[1])
				}
			}
			if want := `class="theme-` + string(data.Theme()) + `"`; !strings.Contains(html, want) {
				t.Errorf("theme %q not applied: no %s", data.Theme(), want)
			}
		})
	}
	if err := p.Render(&bytes.Buffer{}, "nope", &Page{}); err == nil {
		t.Error("unknown page rendered")
	}
}

func TestStylesheet(t *testing.T) {
	p, err := Parse()
	if err != nil {
		t.Fatal(err)
	}
	css := string(p.CSS())
	for _, want := range []string{".theme-light", ".theme-dark", ".theme-system", "prefers-color-scheme: dark", ":focus-visible", "@media (max-width"} {
		if !strings.Contains(css, want) {
			t.Errorf("stylesheet lacks %s", want)
		}
	}
	if strings.Contains(css, "url(") || strings.Contains(css, "@import") {
		t.Error("stylesheet loads external assets")
	}
	if !strings.HasPrefix(p.StylePath(), "/static/style.css?v=") {
		t.Errorf("style path %q", p.StylePath())
	}
}

// TestContrast checks WCAG AA contrast of the colour pairs each theme uses
// (4.5:1 for text, 3:1 for borders of controls and the focus ring) in the
// three palettes: light (also System on a light device), dark, and the
// System theme on a dark device, which must equal dark.
func TestContrast(t *testing.T) {
	p, err := Parse()
	if err != nil {
		t.Fatal(err)
	}
	css := string(p.CSS())
	varRe := regexp.MustCompile(`--([a-z0-9-]+): #([0-9a-f]{6});`)
	palette := func(name, block string) map[string]string {
		m := regexp.MustCompile(`(?s)` + block + ` \{(.*?)\}`).FindStringSubmatch(css)
		if m == nil {
			t.Fatalf("no %s palette (%s) in the stylesheet", name, block)
		}
		c := map[string]string{}
		for _, v := range varRe.FindAllStringSubmatch(m[1], -1) {
			c[v[1]] = v[2]
		}
		return c
	}
	themes := map[string]map[string]string{
		"light":         palette("light", `:root, \.theme-light`),
		"dark":          palette("dark", `\n\.theme-dark`),
		"system (dark)": palette("system on a dark device", `@media \(prefers-color-scheme: dark\) \{\s*\.theme-system`),
	}
	for name, c := range themes {
		for _, pair := range []struct {
			fg, bg string
			min    float64
		}{
			{"fg", "bg", 4.5}, {"fg", "surface", 4.5}, {"fg", "surface-2", 4.5},
			{"muted", "bg", 4.5}, {"muted", "surface", 4.5},
			{"accent", "bg", 4.5}, {"accent", "surface", 4.5}, {"accent-fg", "accent", 4.5},
			{"danger-fg", "danger", 4.5}, {"alert-fg", "alert-bg", 4.5}, {"notice-fg", "notice-bg", 4.5},
			{"border", "bg", 3}, {"border", "surface", 3}, {"border", "surface-2", 3},
			{"danger", "surface", 3}, {"focus", "bg", 3}, {"focus", "surface", 3},
		} {
			if c[pair.fg] == "" || c[pair.bg] == "" {
				t.Errorf("%s: --%s or --%s not set", name, pair.fg, pair.bg)
				continue
			}
			if r := contrast(c[pair.fg], c[pair.bg]); r < pair.min {
				t.Errorf("%s: %s on %s contrast %.2f, want >= %.1f", name, pair.fg, pair.bg, r, pair.min)
			}
		}
	}
	if !maps.Equal(themes["dark"], themes["system (dark)"]) {
		t.Errorf("the System theme on a dark device differs from Dark:\n dark   %v\n system %v", themes["dark"], themes["system (dark)"])
	}
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	if len(hex) != 6 {
		return 0
	}
	var rgb [3]float64
	for i := range 3 {
		var v int
		fmt.Sscanf(hex[2*i:2*i+2], "%x", &v)
		c := float64(v) / 255
		if c <= 0.03928 {
			rgb[i] = c / 12.92
		} else {
			rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
}
