package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/redistest"
)

// redisACLs are the users a shared or managed Redis gives a tenant: keys
// limited to the tenant's prefix, with the usual managed role (every
// command but the dangerous ones: no INFO, CONFIG, KEYS, FLUSHALL...), or
// only the data, script and connection commands. Redis checks the
// commands a script runs too. docs/deploy.md shows the same lists.
var redisACLs = map[string][]string{
	"managed read-write role": {"+@all", "-@dangerous"},
	"data and scripts only":   {"+@read", "+@write", "+@scripting", "+@connection", "+time", "-@dangerous"},
}

// TestServiceRunsAsPrefixLimitedACLUser: with REDIS_KEY_PREFIX=app1: and
// a Redis user allowed only keys app1:* (ACL SETUSER ... ~app1:*), every
// route works with the login rate limit on, nothing answers 503 or 500,
// and every key the service wrote, the limiter's included, carries the
// prefix.
func TestServiceRunsAsPrefixLimitedACLUser(t *testing.T) {
	t.Parallel()
	for name, commands := range redisACLs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rs := redistest.Start(t)
			admin := rs.Client(t)
			ctx := context.Background()
			args := []any{"ACL", "SETUSER", "app1", "reset", "on", ">app1-password", "~app1:*", "resetchannels"}
			for _, c := range commands {
				args = append(args, c)
			}
			if err := admin.Do(ctx, args...).Err(); err != nil {
				t.Fatalf("ACL SETUSER: %v", err)
			}
			u := url.URL{Scheme: "redis", User: url.UserPassword("app1", "app1-password"), Host: rs.Addr, Path: "/0"}
			s := startRun(t, "REDIS_URL", u.String(), "SESSION_SECRET", goodSecret,
				"REDIS_KEY_PREFIX", "app1:", "LOGIN_RATE_LIMIT", "10", "TRUSTED_PROXIES", "none")
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("server log:\n%s", s.logs)
				}
			})

			flow := aclFlow{t: t, base: s.url}
			flow.run()
			if err := s.stop(); err != nil { // the log written out
				t.Fatal(err)
			}
			if logs := s.logs.String(); strings.Contains(logs, "NOPERM") {
				t.Errorf("the server logged a NOPERM error:\n%s", logs)
			}
			if denied, err := admin.Do(ctx, "ACL", "LOG").Slice(); err != nil || len(denied) != 0 {
				t.Errorf("ACL LOG has %d denials (%v): %v", len(denied), err, denied)
			}

			keys, err := admin.Keys(ctx, "*").Result()
			if err != nil {
				t.Fatal(err)
			}
			limiterKey := false
			for _, k := range keys {
				if !strings.HasPrefix(k, "app1:") {
					t.Errorf("key %q does not carry REDIS_KEY_PREFIX app1:", k)
				}
				limiterKey = limiterKey || strings.HasPrefix(k, "app1:login:")
			}
			if !limiterKey {
				t.Errorf("no login limiter key app1:login:* among %q: the limit did not count in Redis", keys)
			}
		})
	}
}

// aclFlow calls every route a user reaches, and fails on any answer other
// than the one the route gives a healthy store.
type aclFlow struct {
	t    *testing.T
	base string
}

func (f aclFlow) expect(method, path, cookie string, form url.Values, want int) (string, string) {
	f.t.Helper()
	res, next, body := call(f.t, method, f.base+path, cookie, form)
	if res.StatusCode != want {
		f.t.Fatalf("%s %s = %d, want %d: %s", method, path, res.StatusCode, want, body)
	}
	return next, body
}

func (f aclFlow) login(name string) string {
	f.t.Helper()
	cookie, _ := f.expect("POST", "/login", "", url.Values{"name": {name}}, http.StatusSeeOther)
	if cookie == "" {
		f.t.Fatal("login set no cookie")
	}
	return cookie
}

func (f aclFlow) run() {
	t := f.t
	t.Helper()
	f.expect("GET", "/readyz", "", nil, http.StatusOK)
	f.expect("GET", "/login", "", nil, http.StatusOK)
	first := f.login("ann")
	f.expect("POST", "/theme", first, url.Values{"theme": {"dark"}}, http.StatusSeeOther)
	f.expect("POST", "/cart/add", first, url.Values{"item": {"apple"}, "qty": {"3"}}, http.StatusSeeOther)
	f.expect("POST", "/cart/add", first, url.Values{"item": {"pear"}}, http.StatusSeeOther)
	f.expect("POST", "/cart/remove", first, url.Values{"item": {"pear"}}, http.StatusSeeOther)
	if _, body := f.expect("GET", "/", first, nil, http.StatusOK); !strings.Contains(body, "ann") {
		t.Fatalf("home page does not greet ann: %s", body)
	}
	_, me := f.expect("GET", "/api/me", first, nil, http.StatusOK)
	var who struct {
		Name  string           `json:"name"`
		Theme string           `json:"theme"`
		Cart  map[string]int64 `json:"cart"`
	}
	if err := json.Unmarshal([]byte(me), &who); err != nil || who.Name != "ann" || who.Theme != "dark" || who.Cart["apple"] != 3 || len(who.Cart) != 1 {
		t.Fatalf("/api/me = %s (%v), want ann, dark, 3 apples only", me, err)
	}

	second := f.login("ann")
	f.expect("GET", "/sessions", first, nil, http.StatusOK)
	_, list := f.expect("GET", "/api/sessions", first, nil, http.StatusOK)
	var sessions []struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
	}
	if err := json.Unmarshal([]byte(list), &sessions); err != nil || len(sessions) != 2 {
		t.Fatalf("/api/sessions = %s (%v), want ann's two sessions", list, err)
	}
	other := ""
	for _, s := range sessions {
		if !s.Current {
			other = s.ID
		}
	}
	if other == "" {
		t.Fatalf("/api/sessions = %s: no session other than the current one", list)
	}
	f.expect("POST", "/sessions/revoke", first, url.Values{"id": {other}}, http.StatusSeeOther)
	f.expect("GET", "/api/me", second, nil, http.StatusUnauthorized)

	third := f.login("ann")
	f.expect("POST", "/sessions/revoke-all", third, nil, http.StatusSeeOther)
	f.expect("GET", "/api/me", first, nil, http.StatusUnauthorized)
	f.expect("GET", "/api/me", third, nil, http.StatusUnauthorized)

	last := f.login("bob")
	f.expect("GET", "/logout", last, nil, http.StatusOK)
	f.expect("POST", "/logout", last, nil, http.StatusSeeOther)
	f.expect("GET", "/api/me", last, nil, http.StatusUnauthorized)
	f.expect("GET", "/readyz", "", nil, http.StatusOK)
}
