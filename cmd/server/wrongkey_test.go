package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/redistest"
)

const unverifiedWarning = "session: a cookie's signature matches none of this replica's keys; if this repeats, SESSION_SECRET differs between replicas"

// TestWrongKeyReplica: three real processes share one Redis, and one of
// them was started with another SESSION_SECRET. A user's cookie that
// reaches it is no session there (401 / the login page), but it is not
// deleted: the user is still signed in, with their data, on the good
// replicas afterwards. The wrong replica counts every such cookie
// (op="load", outcome="unverified"), warns once (rate-limited) with its
// own keys' fingerprints, and its start-up fingerprints differ from the
// good replicas'.
func TestWrongKeyReplica(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	goodKey := "wrong-key-test-good-0123456789abcdef01234567"
	badKey := "wrong-key-test-bad-fedcba9876543210fedcba987"
	common := []string{"REDIS_URL", rs.URL(), "REDIS_KEY_PREFIX", redistest.Prefix(t), "LOGIN_RATE_LIMIT", "0", "LOG_LEVEL", "debug"}
	good1 := startMain(t, append(common, "SESSION_SECRET", goodKey, "REPLICA_ID", "good1")...)
	good2 := startMain(t, append(common, "SESSION_SECRET", goodKey, "REPLICA_ID", "good2")...)
	wrong := startMain(t, append(common, "SESSION_SECRET", badKey, "REPLICA_ID", "wrong")...)

	_, cookie, _ := call(t, "POST", good1.url+"/login", "", url.Values{"name": {"uma"}})
	if cookie == "" {
		t.Fatal("login on a good replica set no cookie")
	}
	if res, _, _ := call(t, "POST", good1.url+"/cart/add", cookie, url.Values{"item": {"tea"}, "qty": {"2"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("cart add on a good replica: %d", res.StatusCode)
	}

	requests := []struct {
		method, path string
		form         url.Values
		status       int
		location     string
	}{
		{"GET", "/", nil, http.StatusSeeOther, "/login"},
		{"GET", "/api/me", nil, http.StatusUnauthorized, ""},
		{"GET", "/sessions", nil, http.StatusSeeOther, "/login"},
		{"GET", "/api/sessions", nil, http.StatusUnauthorized, ""},
		{"POST", "/cart/add", url.Values{"item": {"fig"}}, http.StatusSeeOther, "/login"},
		{"POST", "/theme", url.Values{"theme": {"dark"}}, http.StatusSeeOther, "/login"},
		{"GET", "/login", nil, http.StatusOK, ""},
		{"GET", "/api/me", nil, http.StatusUnauthorized, ""},
	}
	// jar is the cookie as a browser holds it: every answer's Set-Cookie
	// applied.
	jar := cookie
	for _, rq := range requests {
		res, after, _ := call(t, rq.method, wrong.url+rq.path, jar, rq.form)
		jar = after
		if res.StatusCode != rq.status || res.Header.Get("Location") != rq.location {
			t.Errorf("%s %s on the wrong-key replica: %d %q, want %d %q",
				rq.method, rq.path, res.StatusCode, res.Header.Get("Location"), rq.status, rq.location)
		}
		// No Set-Cookie of the session at all: not an expiry (Max-Age<0
		// or =0, an Expires in the past), not a replacement.
		for _, sc := range res.Header.Values("Set-Cookie") {
			if strings.HasPrefix(sc, "session=") {
				t.Errorf("%s %s on the wrong-key replica set the session cookie: %q", rq.method, rq.path, sc)
			}
		}
	}

	// Still signed in, with the data, on the good replicas.
	if jar != cookie {
		t.Errorf("the browser's cookie changed on the wrong-key replica: %q", jar)
	}
	for _, s := range []*server{good2, good1} {
		res, _, body := call(t, "GET", s.url+"/api/me", jar, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `"name":"uma"`) || !strings.Contains(body, `"tea":2`) {
			t.Errorf("after the wrong-key replica saw the cookie, %s: %d %s", res.Header.Get("X-Replica"), res.StatusCode, body)
		}
	}

	// Counted: each request with the cookie, on the wrong replica only.
	if got := unverifiedLoads(t, wrong); got != len(requests) {
		t.Errorf("wrong-key replica counts %d unverified loads, want %d (one per request with the cookie)", got, len(requests))
	}
	for _, s := range []*server{good1, good2} {
		if got := unverifiedLoads(t, s); got != 0 {
			t.Errorf("a good replica counts %d unverified loads, want 0", got)
		}
	}

	// Warned once (rate-limited to once a minute), naming the wrong
	// replica's own keys as its start-up line does; the good ones never.
	for _, s := range []*server{good1, good2, wrong} {
		if err := s.stop(); err != nil { // the log written out
			t.Fatal(err)
		}
	}
	wrongSigning, wrongVerifying := fingerprintsOf(t, wrong)
	goodSigning, goodVerifying := fingerprintsOf(t, good1)
	if s2, _ := fingerprintsOf(t, good2); s2 != goodSigning {
		t.Errorf("good replicas of one key log fingerprints %s and %s", goodSigning, s2)
	}
	if wrongSigning == goodSigning || slices.Equal(wrongVerifying, goodVerifying) {
		t.Errorf("start-up fingerprints of different keys are equal: wrong %s %v, good %s %v", wrongSigning, wrongVerifying, goodSigning, goodVerifying)
	}
	warnings := logRecords(wrong.logs.String(), unverifiedWarning)
	if len(warnings) != 1 {
		t.Fatalf("wrong-key replica logged the warning %d times after %d cookies it cannot verify, want once (rate-limited):\n%s",
			len(warnings), len(requests), wrong.logs)
	}
	w := warnings[0]
	if w["level"] != "WARN" || !slices.Equal(strs(w["key_fingerprints"]), wrongVerifying) {
		t.Errorf("warning %v: want level WARN and key_fingerprints %v (the replica's own)", w, wrongVerifying)
	}
	for _, s := range []*server{good1, good2} {
		if n := len(logRecords(s.logs.String(), unverifiedWarning)); n != 0 {
			t.Errorf("a good replica warned %d times about unverifiable cookies", n)
		}
	}
	for _, s := range []*server{good1, good2, wrong} {
		if strings.Contains(s.logs.String(), cookie[:30]) {
			t.Error("a cookie is in the logs")
		}
	}
}

var unverifiedRe = regexp.MustCompile(`(?m)^sessiond_session_operations_total\{op="load",outcome="unverified"\} ([0-9]+)$`)

// unverifiedLoads reads s's count of cookies signed by none of its keys.
func unverifiedLoads(t *testing.T, s *server) int {
	t.Helper()
	res, _, body := call(t, "GET", s.url+"/metrics", "", nil)
	m := unverifiedRe.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("metrics of %s: %d, no unverified-load series", s.url, res.StatusCode)
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}
