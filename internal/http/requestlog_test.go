package http

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The request line written directly is the line slog's JSON handler
// writes for the same request: the same keys in the same order, the same
// values (the time aside), levels and latencies included.
func TestRequestLineIsSlogsJSONLine(t *testing.T) {
	for _, tc := range []struct {
		level   slog.Level
		status  int
		latency time.Duration
		trace   string
	}{
		{slog.LevelInfo, 303, 123 * time.Microsecond, ""},
		{slog.LevelInfo, 200, 0, "4bf92f3577b34da6a3ce929d0e0e4736"},
		{slog.LevelWarn, 503, 1500*time.Millisecond + 7*time.Microsecond, ""},
		{slog.LevelInfo, 200, 42 * time.Second, ""},
	} {
		var viaSlog, direct bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&viaSlog, nil)).With(slog.String("replica", "web-1"))
		attrs := []slog.Attr{
			slog.String("request_id", "trace-42"), slog.String("method", "POST"), slog.String("route", "/cart/add"),
			slog.Int("status", tc.status), slog.Float64("latency_ms", float64(tc.latency.Microseconds())/1000),
		}
		if tc.trace != "" {
			attrs = append(attrs, slog.String("trace_id", tc.trace))
		}
		logger.LogAttrs(context.Background(), tc.level, "request", attrs...)
		if !newRequestLines(&direct, "web-1").write(tc.level, "trace-42", "POST", "/cart/add", tc.status, tc.latency, tc.trace) {
			t.Fatal("a plain line was not written")
		}
		want, got := withoutTime(t, viaSlog.String()), withoutTime(t, direct.String())
		if want != got {
			t.Errorf("direct line\n  %s\nslog's\n  %s", got, want)
		}
		var a, b map[string]any
		_ = json.Unmarshal(viaSlog.Bytes(), &a)
		if err := json.Unmarshal(direct.Bytes(), &b); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		if _, err := time.Parse(time.RFC3339Nano, b["time"].(string)); err != nil {
			t.Errorf("time %q: %v", b["time"], err)
		}
		delete(a, "time")
		delete(b, "time")
		if !reflect.DeepEqual(a, b) {
			t.Errorf("values %v, want %v", b, a)
		}
	}
	// A value that would need escaping goes through slog instead.
	if newRequestLines(&bytes.Buffer{}, "web\"1").write(slog.LevelInfo, "x", "GET", "/", 200, 0, "") {
		t.Error("a replica name that needs escaping was written directly")
	}
}

// withoutTime is a JSON line with its time's value cut out.
func withoutTime(t *testing.T, line string) string {
	t.Helper()
	_, rest, ok := strings.Cut(line, `{"time":"`)
	_, rest2, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 {
		t.Fatalf("no time in %q", line)
	}
	return `{"time":` + rest2
}
