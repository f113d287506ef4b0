package main

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sessiond/sessiond/internal/redistest"
)

// otlpReceiver is a plain HTTP endpoint that takes OTLP/HTTP trace
// exports (POST /v1/traces, protobuf) and keeps what it got.
type otlpReceiver struct {
	mu       sync.Mutex
	requests int
	bytes    int
	reqs     []*coltracepb.ExportTraceServiceRequest
	bad      []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		o.bad = append(o.bad, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		http.Error(w, "want POST /v1/traces, protobuf", http.StatusBadRequest)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	req := &coltracepb.ExportTraceServiceRequest{}
	if err == nil {
		err = proto.Unmarshal(raw, req)
	}
	if err != nil {
		o.bad = append(o.bad, err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.requests++
	o.bytes += len(raw)
	o.reqs = append(o.reqs, req)
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// span is one received span, flattened.
type span struct {
	name, scope, traceID string
	kind                 int32
	resource, attrs      map[string]string
}

func (o *otlpReceiver) spans() []span {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []span
	for _, req := range o.reqs {
		for _, rs := range req.ResourceSpans {
			res := attrMap(rs.GetResource().GetAttributes())
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					out = append(out, span{
						name: sp.Name, scope: ss.GetScope().GetName(), traceID: hex.EncodeToString(sp.TraceId),
						kind: int32(sp.Kind), resource: res, attrs: attrMap(sp.Attributes),
					})
				}
			}
		}
	}
	return out
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.GetValue().GetStringValue()
		if m[kv.Key] == "" {
			m[kv.Key] = kv.GetValue().String()
		}
	}
	return m
}

// TestTracing: with OTEL_EXPORTER_OTLP_ENDPOINT set, a request that
// touches Redis is a server span with Redis client spans in its trace,
// continuing the caller's traceparent; spans are flushed at shutdown;
// probes are not traced; no statement or cookie is in any span. The
// server is a child process: the exporter reads the process environment.
func TestTracing(t *testing.T) {
	t.Parallel()
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	t.Cleanup(collector.Close)
	rs := redistest.Start(t)
	s := startMain(t, "REDIS_URL", rs.URL(), "SESSION_SECRET", goodSecret, "REDIS_KEY_PREFIX", redistest.Prefix(t),
		"REPLICA_ID", "traced", "OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)

	_, cookie, _ := call(t, "POST", s.url+"/login", "", url.Values{"name": {"tracy"}})
	const parent = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest("GET", s.url+"/api/me", nil)
	req.Header.Set("traceparent", "00-"+parent+"-00f067aa0ba902b7-01")
	req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	res, err := noRedirect.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("api/me: %v %v", res, err)
	}
	res.Body.Close()
	call(t, "GET", s.url+"/healthz", "", nil)
	if err := s.stop(); err != nil { // flushes the batch
		t.Fatal(err)
	}
	if !strings.Contains(s.logs.String(), `"tracing":true`) {
		t.Fatalf("start-up line: %s", s.logs)
	}
	if !strings.Contains(s.logs.String(), `"route":"/api/me","status":200,"latency_ms":`) ||
		!strings.Contains(s.logs.String(), `"trace_id":"`+parent+`"`) {
		t.Fatalf("the request's log line lacks its trace id: %s", s.logs)
	}

	recv.mu.Lock()
	n, size, bad := recv.requests, recv.bytes, recv.bad
	recv.mu.Unlock()
	if n == 0 || size == 0 || len(bad) > 0 {
		t.Fatalf("receiver: %d requests, %d bytes, refused %v", n, size, bad)
	}
	spans := recv.spans()
	t.Logf("OTLP receiver: %d requests, %d bytes, %d spans", n, size, len(spans))
	servers := map[string]span{}
	redisTraces := map[string]int{}
	for _, sp := range spans {
		if sp.resource["service.name"] != "sessiond" || sp.resource["service.instance.id"] != "traced" {
			t.Fatalf("resource %v", sp.resource)
		}
		switch sp.scope {
		case "go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin":
			servers[sp.name] = sp
		case "github.com/redis/go-redis/extra/redisotel":
			redisTraces[sp.traceID]++
			if _, ok := sp.attrs["db.statement"]; ok {
				t.Errorf("span %s has the Redis statement", sp.name)
			}
		}
		for k, v := range sp.attrs {
			if leaked(v, cookie, 12) != "" {
				t.Errorf("span %s attribute %s holds a piece of the cookie", sp.name, k)
			}
		}
	}
	login, me := servers["POST /login"], servers["GET /api/me"]
	if login.name == "" || me.name == "" || login.attrs["http.route"] != "/login" {
		t.Fatalf("server spans: %v", servers)
	}
	if _, ok := servers["GET /healthz"]; ok {
		t.Error("/healthz is traced")
	}
	if me.traceID != parent {
		t.Errorf("GET /api/me trace %s, want the caller's %s", me.traceID, parent)
	}
	if redisTraces[login.traceID] == 0 || redisTraces[me.traceID] == 0 {
		t.Fatalf("no Redis spans in the requests' traces: %v (login %s, me %s)", redisTraces, login.traceID, me.traceID)
	}
}

// TestTracingOff: without an endpoint no tracer provider is made, so
// nothing is installed on the router or the Redis client.
func TestTracingOff(t *testing.T) {
	t.Parallel()
	for _, e := range [][]string{
		nil,
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318", "OTEL_SDK_DISABLED", "true"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318", "OTEL_TRACES_EXPORTER", "none"},
	} {
		cfg, err := loadConfig(env(e...))
		if err != nil {
			t.Fatal(err)
		}
		tp, err := newTracing(context.Background(), cfg, "r", nil)
		if tp != nil || err != nil {
			t.Fatalf("%v: tracer %v, err %v", e, tp, err)
		}
	}
	s := startRun(t, "SESSION_DIR", t.TempDir())
	call(t, "POST", s.url+"/login", "", url.Values{"name": {"quiet"}})
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.logs.String(), `"tracing":false`) {
		t.Fatalf("start-up line: %s", s.logs)
	}
}

func TestOTLPConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, ""},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}, "http://collector:4318/v1/traces"},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://otel.example/base/"}, "https://otel.example/base/v1/traces"},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:9999/custom"}, "http://b:9999/custom"},
		{[]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:4318/v1/traces", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"}, "http://b:4318/v1/traces"},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318", "OTEL_TRACES_EXPORTER", "otlp"}, "http://a:4318/v1/traces"},
		// gRPC (autoexport's otlptracegrpc): the collector's URL as it is.
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}, "http://c:4317"},
		{[]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://c:4317", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"}, "https://c:4317"},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"}, "http://c:4317"},
	} {
		cfg, err := loadConfig(env(tc.env...))
		if err != nil || cfg.OTLPEndpoint != tc.want {
			t.Errorf("%v: %q %v, want %q", tc.env, cfg.OTLPEndpoint, err, tc.want)
		}
	}
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "grpc://user:hunter2@c:4317"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		// http/json is in the specification; the Go exporters lack it.
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}, "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{[]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4317", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpcs"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "grpc://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "OTEL_TRACES_EXPORTER", "zipkin"}, "OTEL_TRACES_EXPORTER"},
	} {
		_, err := loadConfig(env(tc.env...))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), "\n") != 0 {
			t.Errorf("%v: %v, want one problem naming %s", tc.env, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("a password in the message: %v", err)
		}
	}
}
