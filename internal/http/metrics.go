package http

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessiond/sessiond/internal/session"
)

// Every engine (op, outcome) pair (session.Ops, session.Outcomes), login
// result and route that changes the session (as registered with changing)
// is exported from the start, at zero, so dashboards and alerts see a
// series before the first event.
var loginResults = []string{"allowed", "limited", "error"}

// foreignRecords and foreignReasons are the labels of
// sessiond_store_foreign_records_total (see ForeignRecord).
var (
	foreignRecords = []string{"session", "index", "forward", "limiter"}
	foreignReasons = []string{"type", "format"}
)

// Metrics are the service's Prometheus metrics, in a registry of their own
// (no global registry). It is also the session engine's Observer.
type Metrics struct {
	reg           *prometheus.Registry
	httpDuration  *prometheus.HistogramVec
	ops           *prometheus.CounterVec
	opDuration    *prometheus.HistogramVec
	retries       *prometheus.CounterVec
	created       prometheus.Counter
	expired       prometheus.Counter
	loginAttempts *prometheus.CounterVec
	foreign       *prometheus.CounterVec

	// Resolved once: an engine operation costs no label lookup.
	opCount map[session.Op]map[session.Outcome]prometheus.Counter
	opTime  map[session.Op]prometheus.Observer
	logins  map[string]prometheus.Counter // by loginResults

	// series are the request-latency histograms resolved so far: after its
	// first request, a (route, method, status) costs a map read, not a
	// label lookup (three label values hashed and checked, the status
	// formatted). They are as many as the histogram's own series.
	seriesMu sync.RWMutex
	series   map[seriesKey]prometheus.Observer
}

// seriesKey names one series of the request-latency histogram.
type seriesKey struct {
	route, method string
	status        int
}

// NewMetrics makes the metrics and registers them, with the Go runtime and
// process collectors, in a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg:    prometheus.NewRegistry(),
		series: map[seriesKey]prometheus.Observer{},
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sessiond_http_request_duration_seconds",
			Help:    "Latency of HTTP requests by route pattern, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "status"}),
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessiond_session_operations_total",
			Help: "Session engine operations by op and outcome.",
		}, []string{"op", "outcome"}),
		opDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sessiond_session_operation_duration_seconds",
			Help:    "Latency of session engine operations by op.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"op"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessiond_session_conflict_retries_total",
			Help: "Changes re-applied after a concurrent change of the same session, by route.",
		}, []string{"route"}),
		created: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sessiond_sessions_created_total",
			Help: "Sessions created (create operations that succeeded).",
		}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sessiond_sessions_expired_total",
			Help: "Expired sessions found by the engine when loading them. Sessions the store expired by itself (Redis TTL, the filesystem sweeper) are not counted: their next load is outcome=missing.",
		}),
		loginAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessiond_login_attempts_total",
			Help: "POST /login attempts by rate-limit result: allowed, limited (answered 429) or error (the limiter's store failed; answered 503).",
		}, []string{"result"}),
		foreign: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessiond_store_foreign_records_total",
			Help: "Keys under the service's names that it did not write, by record (session, index, forward, limiter) and reason (type: a key of another type; format: a value in a form this release does not read). Each was treated as absent. Not zero during a rollout means a release that does not share this one's layouts writes here.",
		}, []string{"record", "reason"}),
	}
	m.opCount = map[session.Op]map[session.Outcome]prometheus.Counter{}
	m.opTime = map[session.Op]prometheus.Observer{}
	for _, op := range session.Ops() {
		m.opTime[op] = m.opDuration.WithLabelValues(op.String())
		m.opCount[op] = map[session.Outcome]prometheus.Counter{}
		for _, outcome := range session.Outcomes() {
			m.opCount[op][outcome] = m.ops.WithLabelValues(op.String(), outcome.String())
		}
	}
	m.logins = map[string]prometheus.Counter{}
	for _, r := range loginResults {
		m.logins[r] = m.loginAttempts.WithLabelValues(r)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpDuration, m.ops, m.opDuration, m.retries, m.created, m.expired, m.loginAttempts, m.foreign,
	)
	for _, rec := range foreignRecords {
		for _, why := range foreignReasons {
			m.foreign.WithLabelValues(rec, why)
		}
	}
	return m
}

// ForeignRecord counts a key under the service's names that it did not
// write (the stores' and the limiter's OnForeign).
func (m *Metrics) ForeignRecord(record, reason string) {
	m.foreign.WithLabelValues(record, reason).Inc()
}

// Registry is where later additions register their collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Op implements session.Observer.
func (m *Metrics) Op(op session.Op, outcome session.Outcome, d time.Duration) {
	if c := m.opCount[op][outcome]; c != nil {
		c.Inc()
		m.opTime[op].Observe(d.Seconds())
	}
	switch {
	case op == session.OpCreate && outcome == session.OutcomeOK:
		m.created.Inc()
	case op == session.OpLoad && outcome == session.OutcomeExpired:
		m.expired.Inc()
	}
}

func (m *Metrics) request(route, method string, status int, d time.Duration) {
	k := seriesKey{route: route, method: methodLabel(method), status: status}
	m.seriesMu.RLock()
	o, ok := m.series[k]
	m.seriesMu.RUnlock()
	if !ok {
		o = m.httpDuration.WithLabelValues(k.route, k.method, strconv.Itoa(status))
		m.seriesMu.Lock()
		m.series[k] = o
		m.seriesMu.Unlock()
	}
	o.Observe(d.Seconds())
}

// changeRoute exports the retry counter of a route that changes the
// session, at zero.
func (m *Metrics) changeRoute(route string) {
	m.retries.WithLabelValues(route)
}

func (m *Metrics) conflictRetry(route string) {
	m.retries.WithLabelValues(route).Inc()
}

func (m *Metrics) loginAttempt(result string) {
	if c := m.logins[result]; c != nil {
		c.Inc()
		return
	}
	m.loginAttempts.WithLabelValues(result).Inc()
}

// methodLabel keeps the label's values few: any method is accepted on the
// wire, so unknown ones are one value.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
