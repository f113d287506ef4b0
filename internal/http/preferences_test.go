package http

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestThemeChoices: Light, Dark and System (the default) on every page,
// signed in or not; System is stored as no choice; /api/me reports the
// choice; each save says so once.
func TestThemeChoices(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{})
	anon := newBrowser(t)
	if page := anon.get(r.url + "/login").text; !strings.Contains(page, `class="theme-system"`) ||
		!strings.Contains(page, `<meta name="color-scheme" content="light dark">`) {
		t.Fatalf("login page does not follow the system theme: %s", page)
	}

	b := newBrowser(t)
	b.login(r, "theo")
	page := b.get(r.url + "/").text
	if !strings.Contains(page, `class="theme-system"`) || !strings.Contains(page, `value="system" checked`) {
		t.Fatalf("signed in with no choice: not the System theme: %s", page)
	}
	for _, tc := range []struct{ choice, class, scheme, notice string }{
		{"dark", "theme-dark", "dark", "Theme saved: Dark."},
		{"light", "theme-light", "light", "Theme saved: Light."},
		{"system", "theme-system", "light dark", "Theme saved: System."},
	} {
		expect(t, b.post(r.url+"/theme", "theme", tc.choice), http.StatusSeeOther)
		page := b.get(r.url + "/").text
		if !strings.Contains(page, `class="`+tc.class+`"`) || !strings.Contains(page, `content="`+tc.scheme+`"`) ||
			!strings.Contains(page, `value="`+tc.choice+`" checked`) {
			t.Errorf("after choosing %s: body class, color-scheme or checked radio wrong: %s", tc.choice, page)
		}
		if got := noticesOn(page); len(got) != 1 || got[0] != tc.notice {
			t.Errorf("after choosing %s: notices %q, want [%q]", tc.choice, got, tc.notice)
		}
		want := "light" // the theme field keeps its two values; the choice says System
		if tc.choice == "dark" {
			want = "dark"
		}
		if m := getMe(t, b, r); m.ThemeChoice != tc.choice || m.Theme != want {
			t.Errorf("after choosing %s: api/me theme %q, choice %q", tc.choice, m.Theme, m.ThemeChoice)
		}
		// The sessions page (and every page) has the same theme.
		if page := b.get(r.url + "/sessions").text; !strings.Contains(page, `class="`+tc.class+`"`) {
			t.Errorf("after choosing %s: sessions page not in it", tc.choice)
		}
	}
	// System is no stored choice at all.
	keys := w.sessionKeys()
	if len(keys) != 1 {
		t.Fatalf("stored sessions %v", keys)
	}
	if ok, err := w.rdb.HExists(context.Background(), keys[0], "theme").Result(); err != nil || ok {
		t.Fatalf("System left a stored theme field (%v, %v)", ok, err)
	}
	for _, bad := range []string{"auto", "System", "Light", ""} {
		expect(t, b.post(r.url+"/theme", "theme", bad), http.StatusBadRequest)
	}
	if res := b.post(r.url+"/theme", "theme", "neon"); !strings.Contains(res.text, "The theme must be &#34;system&#34;, &#34;light&#34; or &#34;dark&#34;.") {
		t.Fatalf("400 for a bad theme does not say the choices: %s", res.text)
	}
}
