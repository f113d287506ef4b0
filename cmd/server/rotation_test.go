package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/redistest"
)

// TestRunKeyRotation goes through real servers sharing one Redis: "old"
// signs with the old key; "rotated" has a new key first and the old one
// after; "new" has only the new key; "staged" has the new key second. Rotation keeps every session and
// re-signs its cookie with the new key; dropping the old key ends the
// sessions whose cookies were never re-signed, as a clean logout.
func TestRunKeyRotation(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	oldKey := "rotation-old-key-0123456789abcdef0123456789"
	newKey := "rotation-new-key-fedcba9876543210fedcba9876"
	common := []string{"REDIS_URL", rs.URL(), "REDIS_KEY_PREFIX", redistest.Prefix(t), "LOGIN_RATE_LIMIT", "0"}
	old := startRun(t, append(common, "SESSION_SECRET", oldKey, "REPLICA_ID", "old")...)
	rotated := startRun(t, append(common, "SESSION_SECRET", newKey+", "+oldKey, "REPLICA_ID", "rotated")...)
	fresh := startRun(t, append(common, "SESSION_SECRET", newKey, "REPLICA_ID", "new")...)

	users := []string{"ada", "bea", "cy", "dee"}
	cookies := map[string]string{}
	for _, u := range users {
		res, c, _ := call(t, "POST", old.url+"/login", "", url.Values{"name": {u}})
		if res.StatusCode != http.StatusSeeOther || c == "" {
			t.Fatalf("login %s: %d", u, res.StatusCode)
		}
		cookies[u] = c
	}

	// Rotated: every session stays valid, and its cookie is re-signed
	// (same session, new signature) on the first request.
	resigned := map[string]string{}
	for _, u := range users[:3] {
		res, c, body := call(t, "GET", rotated.url+"/api/me", cookies[u], nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `"name":"`+u+`"`) {
			t.Fatalf("%s on the rotated server: %d %s", u, res.StatusCode, body)
		}
		if c == cookies[u] || c[:59] != cookies[u][:59] {
			t.Fatalf("%s: cookie not re-signed in place: %q -> %q", u, cookies[u], c)
		}
		resigned[u] = c
		// The re-signed cookie is the one from now on; it writes too.
		if res, _, _ := call(t, "POST", rotated.url+"/cart/add", c, url.Values{"item": {"tea"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: cart add after rotation: %d", u, res.StatusCode)
		}
	}
	// A replica without the new key cannot verify the re-signed cookie:
	// hence, in a rolling change, the new key is first added second
	// everywhere ("staged") before it signs anywhere (see README).
	staged := startRun(t, append(common, "SESSION_SECRET", oldKey+","+newKey, "REPLICA_ID", "staged")...)
	if res, _, _ := call(t, "GET", old.url+"/api/me", resigned["cy"], nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("re-signed cookie on a server without the new key: %d", res.StatusCode)
	}
	if res, _, _ := call(t, "GET", staged.url+"/api/me", resigned["cy"], nil); res.StatusCode != http.StatusOK {
		t.Fatalf("re-signed cookie on the staged server: %d", res.StatusCode)
	}
	// A session that was not used during the rotation is valid there too.
	if res, _, _ := call(t, "GET", rotated.url+"/", cookies["dee"], nil); res.StatusCode != http.StatusOK {
		t.Fatalf("dee on the rotated server: %d", res.StatusCode)
	}

	// Old key removed: re-signed sessions live on...
	for _, u := range users[:3] {
		res, _, body := call(t, "GET", fresh.url+"/api/me", resigned[u], nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `"tea":1`) {
			t.Fatalf("%s re-signed, on the new-key server: %d %s", u, res.StatusCode, body)
		}
	}
	// ...and a cookie signed only by the removed key is no session: 401
	// from the API, the login page for pages, never a 500, and its id is
	// not adopted by a login.
	c := cookies["ada"]
	for _, tc := range []struct {
		method, path string
		form         url.Values
		status       int
		location     string
	}{
		{"GET", "/api/me", nil, http.StatusUnauthorized, ""},
		{"GET", "/api/sessions", nil, http.StatusUnauthorized, ""},
		{"GET", "/", nil, http.StatusSeeOther, "/login"},
		{"GET", "/sessions", nil, http.StatusSeeOther, "/login"},
		{"POST", "/cart/add", url.Values{"item": {"x"}}, http.StatusSeeOther, "/login"},
		{"POST", "/theme", url.Values{"theme": {"dark"}}, http.StatusSeeOther, "/login"},
		{"POST", "/sessions/revoke-all", nil, http.StatusSeeOther, "/login"},
		{"POST", "/logout", nil, http.StatusSeeOther, "/login"},
		{"GET", "/login", nil, http.StatusOK, ""},
	} {
		res, after, _ := call(t, tc.method, fresh.url+tc.path, c, tc.form)
		if res.StatusCode != tc.status || res.Header.Get("Location") != tc.location {
			t.Errorf("old-key cookie, %s %s: %d %q, want %d %q", tc.method, tc.path, res.StatusCode, res.Header.Get("Location"), tc.status, tc.location)
		}
		if after != "" && after != c {
			t.Errorf("old-key cookie, %s %s: set a new cookie", tc.method, tc.path)
		}
	}
	res, after, _ := call(t, "POST", fresh.url+"/login", c, url.Values{"name": {"ada"}})
	if res.StatusCode != http.StatusSeeOther || after == "" || after[:16] == c[:16] {
		t.Fatalf("login with an old-key cookie: %d, kept the id: %v", res.StatusCode, after != "" && after[:16] == c[:16])
	}
	// The dropped session is untouched in the store: the old-key server
	// (not yet rotated) still serves it, so a rolling change loses nothing.
	if res, _, _ := call(t, "GET", old.url+"/api/me", cookies["bea"], nil); res.StatusCode != http.StatusOK {
		t.Fatalf("bea on the old server: %d", res.StatusCode)
	}
	for _, s := range []*server{old, rotated, fresh} {
		if err := s.stop(); err != nil { // the log written out
			t.Fatal(err)
		}
		if strings.Contains(s.logs.String(), `"status":500`) {
			t.Fatalf("a 500 in the logs:\n%s", s.logs)
		}
	}
}
