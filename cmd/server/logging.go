package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// routeRedisLogs sends go-redis' own log lines (dial failures, pool
// trouble) into log, as records of their own, instead of its default
// "redis: 2026/12/01 ... pool.go:770: ..." lines on stderr. go-redis has one
// logger per process (redis.SetLogger), like slog.SetDefault.
func routeRedisLogs(log *slog.Logger) {
	redis.SetLogger(redisLogger{log: log})
}

// redisLogger adapts slog to go-redis' Printf-style logging interface.
type redisLogger struct{ log *slog.Logger }

// Printf logs one go-redis line as a warning (go-redis logs only what went
// wrong, and never a command's arguments): msg "go-redis", the text in
// detail.
func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	detail := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	l.log.WarnContext(ctx, "go-redis", "detail", detail)
}
