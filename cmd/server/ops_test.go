package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/redistest"
)

// TestRunLoginRateLimit: LOGIN_RATE_LIMIT is wired by run: counted in Redis
// across two replicas, in memory with the filesystem store; the Redis
// pool is in /metrics only with Redis.
func TestRunLoginRateLimit(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	common := []string{"REDIS_URL", rs.URL(), "SESSION_SECRET", goodSecret, "REDIS_KEY_PREFIX", redistest.Prefix(t), "LOGIN_RATE_LIMIT", "3"}
	a := startRun(t, append(common, "REPLICA_ID", "a")...)
	b := startRun(t, append(common, "REPLICA_ID", "b")...)
	login := func(s *server) *http.Response {
		res, _, _ := call(t, "POST", s.url+"/login", "", url.Values{"name": {"rita"}})
		return res
	}
	for _, s := range []*server{a, b, a} {
		if res := login(s); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("login under the limit: %d", res.StatusCode)
		}
	}
	for _, s := range []*server{a, b} {
		if res := login(s); res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Fatalf("login over the limit on %s: %d %q", s.url, res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
	_, _, metrics := call(t, "GET", b.url+"/metrics", "", nil)
	for _, want := range []string{`sessiond_login_attempts_total{result="limited"} 1`, "sessiond_redis_pool_hit_total", "sessiond_redis_pool_conn_total_current", "sessiond_redis_pool_wait_duration_seconds_total"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(a.logs.String(), "not enforced") || strings.Contains(a.logs.String(), "login_rate_limit_enforced") {
		t.Error("the start-up line still says the limit is not enforced")
	}

	fs := startRun(t, "SESSION_DIR", t.TempDir(), "LOGIN_RATE_LIMIT", "1")
	if res := login(fs); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("filesystem: first login %d", res.StatusCode)
	}
	if res := login(fs); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("filesystem: second login %d", res.StatusCode)
	}
	_, _, metrics = call(t, "GET", fs.url+"/metrics", "", nil)
	if strings.Contains(metrics, "sessiond_redis_pool") {
		t.Error("Redis pool metrics with the filesystem store")
	}
}
