package http

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
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
	if strings.Contains(res.text, "12345") {
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
