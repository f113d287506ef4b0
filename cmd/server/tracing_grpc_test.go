package main

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/sessiond/sessiond/internal/redistest"
)

// grpcReceiver takes OTLP/gRPC trace exports into an otlpReceiver.
type grpcReceiver struct {
	coltracepb.UnimplementedTraceServiceServer
	*otlpReceiver
}

func (g grpcReceiver) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests++
	g.bytes += proto.Size(req)
	g.reqs = append(g.reqs, req)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// TestTracingOverGRPC: OTEL_EXPORTER_OTLP_PROTOCOL=grpc sends the same
// spans to an OTLP/gRPC collector (autoexport's otlptracegrpc).
func TestTracingOverGRPC(t *testing.T) {
	t.Parallel()
	recv := &otlpReceiver{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, grpcReceiver{otlpReceiver: recv})
	go srv.Serve(lis) //nolint:errcheck // ends with Stop
	t.Cleanup(srv.Stop)
	rs := redistest.Start(t)
	s := startMain(t, "REDIS_URL", rs.URL(), "SESSION_SECRET", goodSecret, "REDIS_KEY_PREFIX", redistest.Prefix(t),
		"REPLICA_ID", "traced-grpc", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+lis.Addr().String(), "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")

	if res, _, _ := call(t, "POST", s.url+"/login", "", url.Values{"name": {"grace"}}); res.StatusCode != 303 {
		t.Fatalf("login: %d", res.StatusCode)
	}
	if err := s.stop(); err != nil { // flushes the batch
		t.Fatal(err)
	}
	if !strings.Contains(s.logs.String(), `"tracing":true`) || !strings.Contains(s.logs.String(), `"otel_protocol":"grpc"`) {
		t.Fatalf("start-up line: %s", s.logs)
	}
	var login span
	redisSpans := 0
	for _, sp := range recv.spans() {
		if sp.resource["service.name"] != "sessiond" || sp.resource["service.instance.id"] != "traced-grpc" {
			t.Fatalf("resource %v", sp.resource)
		}
		if sp.name == "POST /login" {
			login = sp
		}
		if sp.scope == "github.com/redis/go-redis/extra/redisotel" {
			redisSpans++
		}
	}
	if login.name == "" || redisSpans == 0 {
		t.Fatalf("over gRPC: login span %q, %d Redis spans (%d requests)", login.name, redisSpans, recv.requests)
	}
}
