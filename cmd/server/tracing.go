package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// newTracing returns the tracer provider that batches spans to
// cfg.OTLPEndpoint, or nil when tracing is off: then nothing is installed
// and requests pay nothing. Its Shutdown flushes the spans still queued.
// Spans are not set as the global provider: they are handed to what uses
// them (the router, the Redis client).
func newTracing(ctx context.Context, cfg config, replica string, log *slog.Logger) (*sdktrace.TracerProvider, error) {
	if cfg.OTLPEndpoint == "" {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.OTLPEndpoint))
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
