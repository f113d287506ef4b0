package http

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/session"
)

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	var draining atomic.Bool
	r := newWorld(t).replica("r1", options{draining: draining.Load})
	b := newBrowser(t)
	expect(t, b.get(r.url+"/healthz"), http.StatusOK)
	expect(t, b.do(http.MethodHead, r.url+"/healthz", nil), http.StatusOK)
	expect(t, b.get(r.url+"/readyz"), http.StatusOK)
	draining.Store(true)
	expect(t, b.get(r.url+"/readyz"), http.StatusServiceUnavailable)
	expect(t, b.get(r.url+"/healthz"), http.StatusOK)
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	r := newWorld(t).replica("r1", options{})
	b := newBrowser(t)
	b.login(r, "walt")
	b.get(r.url + "/api/me")
	b.get(r.url + "/no/such/thing/12345")
	res := b.get(r.url + "/metrics")
	expect(t, res, http.StatusOK)
	for _, want := range []string{
		`sessiond_http_request_duration_seconds_bucket{method="GET",route="/api/me",status="200"`,
		`sessiond_http_request_duration_seconds_count{method="POST",route="/login",status="303"}`,
		`route="unmatched",status="404"`,
		`sessiond_session_operations_total{op="load",outcome="ok"}`,
		`sessiond_session_operations_total{op="create",outcome="ok"} 1`,
		`sessiond_session_operation_duration_seconds_bucket{op="load"`,
		`go_goroutines`,
	} {
		if !strings.Contains(res.text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// In a label, that is: a sample's value may hold those digits.
	if regexp.MustCompile(`\{[^}]*12345[^}]*\}`).MatchString(res.text) {
		t.Error("a raw path is a metric label")
	}
}

func TestStylesheet(t *testing.T) {
	t.Parallel()
	r := filesReplica(t, options{})
	b := newBrowser(t)
	page := b.get(r.url + "/login").text
	i := strings.Index(page, `href="/static/style.css?v=`)
	if i < 0 {
		t.Fatalf("no stylesheet link: %s", page)
	}
	href := page[i+len(`href="`):]
	href = href[:strings.IndexByte(href, '"')]
	res := b.get(r.url + href)
	expect(t, res, http.StatusOK)
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") || !strings.Contains(res.text, ".theme-dark") {
		t.Fatalf("stylesheet: %s", res.Header.Get("Content-Type"))
	}
}

// TestEngineMetrics: every engine op and outcome is a series from the
// start; created and expired sessions are counted; the Redis pool is
// exported for a Redis store only.
func TestEngineMetrics(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	r := newWorld(t).replica("r1", options{now: now, idle: time.Hour, lifetime: 24 * time.Hour})
	b := newBrowser(t)
	fresh := b.get(r.url + "/metrics").text
	for _, op := range session.Ops() {
		for _, outcome := range session.Outcomes() {
			if want := fmt.Sprintf(`sessiond_session_operations_total{op=%q,outcome=%q} 0`, op.String(), outcome.String()); !strings.Contains(fresh, want) {
				t.Errorf("fresh metrics lack %s", want)
			}
		}
	}
	for _, want := range []string{
		"sessiond_sessions_created_total 0", "sessiond_sessions_expired_total 0",
		`sessiond_login_attempts_total{result="limited"} 0`,
		`sessiond_session_conflict_retries_total{route="/cart/add"} 0`,
		"sessiond_redis_pool_hit_total", "sessiond_redis_pool_miss_total", "sessiond_redis_pool_timeout_total",
		"sessiond_redis_pool_conn_total_current", "sessiond_redis_pool_conn_idle_current", "sessiond_redis_pool_conn_stale_total",
	} {
		if !strings.Contains(fresh, want) {
			t.Errorf("fresh metrics lack %s", want)
		}
	}

	b.login(r, "xavier")
	expect(t, b.get(r.url+"/api/me"), http.StatusOK)                        // load ok, save skipped
	expect(t, b.post(r.url+"/theme", "theme", "dark"), http.StatusSeeOther) // save ok
	clock.Add(int64(2 * time.Hour))                                         // past the idle timeout, before Redis' TTL
	expect(t, b.get(r.url+"/api/me"), http.StatusUnauthorized)              // load expired
	got := b.get(r.url + "/metrics").text
	for _, want := range []string{
		"sessiond_sessions_created_total 1",
		"sessiond_sessions_expired_total 1",
		`sessiond_session_operations_total{op="load",outcome="expired"} 1`,
		`sessiond_session_operations_total{op="save",outcome="ok"} 1`,
		`sessiond_login_attempts_total{result="allowed"} 1`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// At least the read of /api/me. (The engine also counts a skip when a
	// handler saved explicitly before the response: reported upstream.)
	if !regexp.MustCompile(`sessiond_session_operations_total\{op="save",outcome="skipped"\} [1-9]`).MatchString(got) {
		t.Error("no skipped write counted for a read-only request")
	}
	if regexp.MustCompile(`sessiond_redis_pool_hit_total 0\n`).MatchString(got) {
		t.Error("no pool hits counted after several Redis calls")
	}

	files := b.get(filesReplica(t, options{}).url + "/metrics").text
	if strings.Contains(files, "sessiond_redis_pool") {
		t.Error("Redis pool metrics without Redis")
	}
}
