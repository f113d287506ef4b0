package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/redistest"
)

// agent is a browser for the log test: it keeps one cookie, records every
// cookie value it was given, and tags each request with a request id.
type agent struct {
	t       *testing.T
	base    string
	cookie  string
	cookies *[]string
	seq     *atomic.Int64
	ids     *[]string
}

func (a *agent) do(method, path string, form url.Values, hdr ...string) (*http.Response, string) {
	a.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, a.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if req.Header.Get("X-Request-ID") == "" {
		id := fmt.Sprintf("logtest-%d", a.seq.Add(1))
		req.Header.Set("X-Request-ID", id)
		*a.ids = append(*a.ids, id)
	}
	if a.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: a.cookie})
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, c := range res.Cookies() {
		if c.Name == "session" {
			if c.Value != "" {
				*a.cookies = append(*a.cookies, c.Value)
			}
			a.cookie = c.Value
			if c.MaxAge < 0 {
				a.cookie = ""
			}
		}
	}
	return res, string(b)
}

// TestLogsHoldNoSecrets drives every kind of request (logins, cart,
// theme, API, session listing, revokes, logouts, tampered and dead
// cookies, a refused login, a Redis outage) through run() at debug level,
// then greps everything it logged: no cookie value, selector, verifier,
// signature, public session id or signing key, nor any 12-character piece
// of one. And every request has exactly one JSON log line.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	keyNew := "log-test-new-key-0123456789abcdef0123456789"
	keyOld := "log-test-old-key-fedcba9876543210fedcba9876"
	s := startRun(t, "REDIS_URL", rs.URL(), "SESSION_SECRET", keyNew+","+keyOld, "REDIS_KEY_PREFIX", redistest.Prefix(t),
		"LOG_LEVEL", "debug", "LOGIN_RATE_LIMIT", "6", "REDIS_TIMEOUT", "300ms", "REPLICA_ID", "logs")
	var cookies, ids []string
	var seq atomic.Int64
	newAgent := func() *agent {
		return &agent{t: t, base: s.url, cookies: &cookies, seq: &seq, ids: &ids}
	}
	f := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}

	alice, alice2, carol := newAgent(), newAgent(), newAgent()
	alice.do("POST", "/login", f("name", "alice"))
	alice2.do("POST", "/login", f("name", "alice"))
	carol.do("POST", "/login", f("name", "carol"))
	alice.do("POST", "/cart/add", f("item", "apple", "qty", "3"))
	alice.do("POST", "/cart/remove", f("item", "apple"))
	alice.do("POST", "/theme", f("theme", "dark"))
	alice.do("POST", "/theme", f("theme", "neon"))
	alice.do("GET", "/", nil)
	alice.do("GET", "/sessions", nil)
	alice.do("GET", "/api/me", nil)
	_, body := alice.do("GET", "/api/sessions", nil)
	var list []struct {
		ID      string
		Current bool
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != 2 {
		t.Fatalf("api/sessions: %v %s", err, body)
	}
	var publicIDs []string
	other := ""
	for _, in := range list {
		publicIDs = append(publicIDs, in.ID)
		if !in.Current {
			other = in.ID
		}
	}
	// Revoke the other session, then a bad and an unknown id.
	if res, _ := alice.do("POST", "/sessions/revoke", f("id", other)); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	alice.do("POST", "/sessions/revoke", f("id", "not-an-id"))
	alice.do("POST", "/sessions/revoke", f("id", "0123456789abcdef"))
	alice2.do("GET", "/api/me", nil) // revoked: a dead cookie
	// Cookies in other headers, bad request ids, a tampered cookie.
	alice.do("GET", "/api/me", nil, "X-Request-ID", "has space "+alice.cookie[:10])
	tampered := newAgent()
	tampered.cookie = alice.cookie[:len(alice.cookie)-2] + "xx"
	tampered.do("GET", "/", nil)
	carol.do("GET", "/api/me", nil, "Referer", "http://x/?session="+carol.cookie)
	// An old-key cookie would be re-signed: sign in again for a new one.
	carol.do("POST", "/login", f("name", "carol"))
	// The rate limit: 6 logins per minute from 127.0.0.1 are spent.
	for range 3 {
		newAgent().do("POST", "/login", f("name", "dave"))
	}
	// An outage: 503s with their causes logged.
	live := carol.cookie
	rs.Stop()
	carol.do("GET", "/api/me", nil)
	carol.do("POST", "/cart/add", f("item", "kiwi"))
	carol.do("GET", "/readyz", nil)
	rs.Start()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if res, _ := carol.do("GET", "/api/me", nil); res.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no recovery after the outage")
		}
		time.Sleep(50 * time.Millisecond)
	}
	carol.do("POST", "/sessions/revoke-all", nil)
	alice.do("POST", "/logout", nil)
	carol.cookie = live
	carol.do("GET", "/", nil) // after revoke-all: a dead cookie
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	logs := s.logs.String()

	// Every request has exactly one JSON line with its fields.
	perID := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if rec["msg"] != "request" {
			continue
		}
		for _, k := range []string{"request_id", "replica", "route", "status", "latency_ms"} {
			if rec[k] == nil {
				t.Errorf("request line without %s: %s", k, line)
			}
		}
		if id, _ := rec["request_id"].(string); strings.HasPrefix(id, "logtest-") {
			perID[id]++
		}
	}
	for _, id := range ids {
		if perID[id] != 1 {
			t.Errorf("request %s has %d log lines, want 1", id, perID[id])
		}
	}
	if len(perID) != len(ids) {
		t.Errorf("%d requests, %d request ids in the log", len(ids), len(perID))
	}

	secrets := map[string]string{"key new": keyNew, "key old": keyOld}
	if len(cookies) < 5 {
		t.Fatalf("only %d cookies issued", len(cookies))
	}
	for i, c := range cookies {
		mac := c[strings.IndexByte(c, '.')+1:]
		secrets[fmt.Sprintf("cookie %d", i)] = c
		secrets[fmt.Sprintf("selector %d", i)] = c[:16]
		secrets[fmt.Sprintf("verifier %d", i)] = c[16:59]
		secrets[fmt.Sprintf("signature %d", i)] = mac
	}
	for i, id := range publicIDs {
		secrets[fmt.Sprintf("public id %d", i)] = id
	}
	for name, v := range secrets {
		if piece := leaked(logs, v, 12); piece != "" {
			t.Errorf("%s: %q is in the logs", name, piece)
		}
	}
	for _, want := range []string{`"status":429`, `"status":503`, `"route":"/sessions/revoke"`, `"status":404`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the logs lack %s: did the test drive what it says?", want)
		}
	}
}

// leaked returns a piece of secret, n bytes long, that is in logs ("" when
// none is).
func leaked(logs, secret string, n int) string {
	if len(secret) < n {
		n = len(secret)
	}
	for i := 0; i+n <= len(secret); i++ {
		if strings.Contains(logs, secret[i:i+n]) {
			return secret[i : i+n]
		}
	}
	return ""
}
