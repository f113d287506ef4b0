package http

import (
	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
)

// serviceName names the service in spans.
const serviceName = "sessiond"

// tracing is the otelgin middleware on s.Tracer. Incoming W3C traceparent
// and baggage headers continue the caller's trace. Probes, metrics and the
// stylesheet are not traced: they would drown the rest.
func (s *server) tracing() gin.HandlerFunc {
	return otelgin.Middleware(serviceName,
		otelgin.WithTracerProvider(s.Tracer),
		otelgin.WithMeterProvider(noop.NewMeterProvider()), // metrics are Prometheus'
		otelgin.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
		otelgin.WithGinFilter(func(c *gin.Context) bool {
			switch c.FullPath() {
			case "/healthz", "/readyz", "/metrics", "/static/style.css":
				return false
			}
			return true
		}),
	)
}
