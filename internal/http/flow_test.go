package http

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestFlow walks every route as a user would, on both stores.
func TestFlow(t *testing.T) {
	t.Parallel()
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		flow(t, newWorld(t).replica("r1", options{}))
	})
	t.Run("filesystem", func(t *testing.T) {
		t.Parallel()
		flow(t, filesReplica(t, options{}))
	})
}

func flow(t *testing.T, r *replica) {
	b := newBrowser(t)

	res := b.get(r.url + "/")
	expect(t, res, http.StatusSeeOther)
	if res.Header.Get("Location") != "/login" {
		t.Fatalf("anonymous / goes to %q", res.Header.Get("Location"))
	}
	res = b.get(r.url + "/login")
	expect(t, res, http.StatusOK)
	if !strings.Contains(res.text, `action="/login"`) || !strings.Contains(res.text, `name="name"`) {
		t.Fatalf("login form missing: %s", res.text)
	}
	expect(t, b.get(r.url+"/api/me"), http.StatusUnauthorized)

	b.login(r, "  Zoë <script>  ")
	res = b.get(r.url + "/")
	expect(t, res, http.StatusOK)
	if !strings.Contains(res.text, "Hello, Zoë &lt;script&gt;!") {
		t.Fatalf("greeting missing or unescaped: %s", res.text)
	}
	// No theme chosen: the page follows the system's, as the login page did.
	if !strings.Contains(res.text, `class="theme-system"`) || !strings.Contains(res.text, "<code>"+r.name+"</code>") {
		t.Fatalf("theme or replica missing: %s", res.text)
	}
	if m := getMe(t, b, r); m.ThemeChoice != "system" || m.Theme != "light" {
		t.Fatalf("api/me theme %q, choice %q before any choice, want light and system", m.Theme, m.ThemeChoice)
	}

	expect(t, b.post(r.url+"/theme", "theme", "dark"), http.StatusSeeOther)
	expect(t, b.post(r.url+"/cart/add", "item", "apple", "qty", "2"), http.StatusSeeOther)
	expect(t, b.post(r.url+"/cart/add", "item", "apple"), http.StatusSeeOther)
	expect(t, b.post(r.url+"/cart/add", "item", "pear", "qty", "5"), http.StatusSeeOther)
	expect(t, b.post(r.url+"/cart/remove", "item", "pear"), http.StatusSeeOther)
	expect(t, b.post(r.url+"/cart/remove", "item", "never-added"), http.StatusSeeOther)

	res = b.get(r.url + "/")
	if !strings.Contains(res.text, `class="theme-dark"`) || !strings.Contains(res.text, "× 3") || strings.Contains(res.text, `<span class="item">pear</span>`) {
		t.Fatalf("home after changes: %s", res.text)
	}
	if !strings.Contains(res.text, "Removed pear from your cart.") {
		t.Fatalf("no notice of the removal: %s", res.text)
	}
	m := getMe(t, b, r)
	if m.Name != "Zoë <script>" || m.Theme != "dark" || len(m.Cart) != 1 || m.Cart["apple"] != 3 {
		t.Fatalf("api/me = %+v", m)
	}
	if m.Session.CreatedAt.IsZero() || !m.Session.ExpiresAt.After(m.Session.CreatedAt) {
		t.Fatalf("api/me session times = %+v", m.Session)
	}

	// A second device of the same name, then the sessions page.
	other := newBrowser(t)
	other.login(r, "Zoë <script>")
	res = b.get(r.url + "/sessions")
	expect(t, res, http.StatusOK)
	ids := regexp.MustCompile(`name="id" value="([0-9a-f]{16})"`).FindAllStringSubmatch(res.text, -1)
	if len(ids) != 2 || strings.Count(res.text, "This session") != 1 || !strings.Contains(res.text, "Log out everywhere") {
		t.Fatalf("sessions page: %s", res.text)
	}
	list := apiSessionsOf(t, b, r)
	if len(list) != 2 {
		t.Fatalf("api/sessions = %+v", list)
	}
	for _, s := range list {
		if strings.Contains(b.cookieValue(), s.ID) {
			t.Fatal("a public id is part of the cookie")
		}
	}
	// Each device's list marks its own session current, and only it.
	mine, otherID := currentOf(t, list), currentOf(t, apiSessionsOf(t, other, r))
	if mine == otherID {
		t.Fatalf("both devices' lists mark %s current: %+v", mine, list)
	}
	res = b.post(r.url+"/sessions/revoke", "id", otherID)
	expect(t, res, http.StatusSeeOther)
	expect(t, other.get(r.url+"/api/me"), http.StatusUnauthorized)
	expect(t, b.post(r.url+"/sessions/revoke", "id", otherID), http.StatusNotFound)
	expect(t, b.get(r.url+"/api/me"), http.StatusOK)

	// GET /logout changes nothing; POST /logout ends the session.
	res = b.get(r.url + "/logout")
	expect(t, res, http.StatusOK)
	if !strings.Contains(res.text, `action="/logout"`) {
		t.Fatalf("logout page has no form: %s", res.text)
	}
	expect(t, b.get(r.url+"/api/me"), http.StatusOK)
	old := b.cookieValue()
	res = b.post(r.url + "/logout")
	expect(t, res, http.StatusSeeOther)
	if res.Header.Get("Location") != "/login" || b.cookieValue() != "" {
		t.Fatalf("logout: %s, cookie %q", res.Header.Get("Location"), b.cookieValue())
	}
	b.setCookie(old)
	expect(t, b.get(r.url+"/api/me"), http.StatusUnauthorized)
}

func TestRevokeAllAndCurrent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{})
	a, b, c := newBrowser(t), newBrowser(t), newBrowser(t)
	a.login(r, "dana")
	b.login(r, "dana")
	c.login(r, "eve")

	// Revoking the current session is a logout, of this device only.
	res := a.post(r.url+"/sessions/revoke", "id", currentOf(t, apiSessionsOf(t, a, r)))
	expect(t, res, http.StatusSeeOther)
	if res.Header.Get("Location") != "/login" || a.cookieValue() != "" {
		t.Fatalf("revoke current: %s cookie %q", res.Header.Get("Location"), a.cookieValue())
	}
	expect(t, b.get(r.url+"/api/me"), http.StatusOK)
	a.login(r, "dana")
	// Someone else's id is not found among mine.
	eveID := apiSessionsOf(t, c, r)[0].ID
	expect(t, a.post(r.url+"/sessions/revoke", "id", eveID), http.StatusNotFound)
	expect(t, c.get(r.url+"/api/me"), http.StatusOK)

	res = a.post(r.url + "/sessions/revoke-all")
	expect(t, res, http.StatusSeeOther)
	if res.Header.Get("Location") != "/login" {
		t.Fatalf("revoke-all goes to %q", res.Header.Get("Location"))
	}
	expect(t, a.get(r.url+"/api/me"), http.StatusUnauthorized)
	expect(t, b.get(r.url+"/api/me"), http.StatusUnauthorized)
	expect(t, c.get(r.url+"/api/me"), http.StatusOK)
	if keys := w.sessionKeys(); len(keys) != 1 {
		t.Fatalf("stored sessions after revoke-all: %v, want eve's only", keys)
	}
}

func getMe(t *testing.T, b *browser, r *replica) me {
	t.Helper()
	res := b.get(r.url + "/api/me")
	expect(t, res, http.StatusOK)
	var m me
	if err := json.Unmarshal([]byte(res.text), &m); err != nil {
		t.Fatalf("api/me: %v: %s", err, res.text)
	}
	return m
}

func apiSessionsOf(t *testing.T, b *browser, r *replica) []apiSession {
	t.Helper()
	res := b.get(r.url + "/api/sessions")
	expect(t, res, http.StatusOK)
	var list []apiSession
	if err := json.Unmarshal([]byte(res.text), &list); err != nil {
		t.Fatalf("api/sessions: %v: %s", err, res.text)
	}
	return list
}

// currentOf is the id of the one entry of list marked current (the
// requesting session's); it fails the test unless exactly one is.
func currentOf(t *testing.T, list []apiSession) string {
	t.Helper()
	var ids []string
	for _, s := range list {
		if s.Current {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("api/sessions marks %d entries current, want exactly one (the requesting session): %+v", len(ids), list)
	}
	return ids[0]
}
