package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// newTracing returns the tracer provider that batches spans to the
// configured collector, or nil when tracing is off: then nothing is
// installed and requests pay nothing. Its Shutdown flushes the spans still
// queued. Spans are not set as the global provider: they are handed to
// what uses them (the router, the Redis client).
//
// The exporter is OpenTelemetry's autoexport: OTLP over HTTP or gRPC per
// OTEL_EXPORTER_OTLP_PROTOCOL, with the other OTEL_EXPORTER_OTLP_*
// variables (headers, timeout, compression, certificates). It reads them
// from the process environment; loadConfig has checked the same variables
// through run's getenv, and the two must agree.
func newTracing(ctx context.Context, cfg config, replica string, log *slog.Logger) (*sdktrace.TracerProvider, error) {
	if cfg.OTLPEndpoint == "" {
		return nil, nil
	}
	var p problems
	if endpoint, protocol := p.tracing(tracingEnvOf(os.Getenv)); endpoint != cfg.OTLPEndpoint || protocol != cfg.OTLPProtocol {
		return nil, fmt.Errorf("tracing: the OTEL_* variables run was given differ from the process environment, which the exporter reads")
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over these.
	res, err := resource.New(ctx,
		resource.WithAttributes(
			attribute.String("service.name", "sessiond"),
			attribute.String("service.instance.id", replica),
		),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	// Export failures (collector down) are logged here, not on stderr;
	// the handler is process-wide by the SDK's design.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: export failed", "err", err)
	}))
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// flushTracing sends the spans still queued, within a bound of its own.
func flushTracing(tp *sdktrace.TracerProvider, log *slog.Logger) {
	if tp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		log.Warn("tracing: flush at shutdown", "err", err)
	}
}

// traceRedis adds a span per Redis command (and pipeline, and dial) of
// client. Statements are left out: they hold session keys and values.
func traceRedis(client redis.UniversalClient, tp *sdktrace.TracerProvider) error {
	err := redisotel.InstrumentTracing(client,
		redisotel.WithTracerProvider(tp),
		redisotel.WithDBStatement(false),
		redisotel.WithCallerEnabled(false),
	)
	if err != nil {
		return fmt.Errorf("tracing: redis: %w", err)
	}
	return nil
}

// endpointHost is the collector's host:port, for the log (a URL may hold
// credentials).
func endpointHost(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	return u.Host
}
