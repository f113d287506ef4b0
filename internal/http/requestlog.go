package http

import (
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// requestLines writes the request's log line exactly as the JSON handler
// of slog writes it (the same keys, order and formats: its replica, bound
// with With, then the record's attributes), without slog's generic
// machinery, which is on every request's path: the line is appended into
// a pooled buffer and written with one Write. A line with an error, or
// with a value that would need escaping, goes through the logger instead.
type requestLines struct {
	w       io.Writer
	replica string
	bufs    sync.Pool // *[]byte
}

func newRequestLines(w io.Writer, replica string) *requestLines {
	return &requestLines{w: w, replica: replica, bufs: sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}}
}

// write writes the line, or reports that it cannot (the caller logs it
// through slog).
func (l *requestLines) write(level slog.Level, id, method, route string, status int, latency time.Duration, traceID string) bool {
	if !plain(l.replica) || !plain(id) || !plain(method) || !plain(route) || !plain(traceID) {
		return false
	}
	bp := l.bufs.Get().(*[]byte)
	b := append((*bp)[:0], `{"time":"`...)
	b = time.Now().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"`...)
	b = append(b, level.String()...)
	b = append(b, `","msg":"request","replica":"`...)
	b = append(b, l.replica...)
	b = append(b, `","request_id":"`...)
	b = append(b, id...)
	b = append(b, `","method":"`...)
	b = append(b, method...)
	b = append(b, `","route":"`...)
	b = append(b, route...)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"latency_ms":`...)
	// json.Marshal's float form, as slog writes it: 'f' for every value
	// from 1e-6 up, and milliseconds to the microsecond are that or 0.
	b = strconv.AppendFloat(b, float64(latency.Microseconds())/1000, 'f', -1, 64)
	if traceID != "" {
		b = append(b, `,"trace_id":"`...)
		b = append(b, traceID...)
		b = append(b, '"')
	}
	b = append(b, "}\n"...)
	_, _ = l.w.Write(b) // a log that cannot be written has nowhere to say so
	*bp = b
	l.bufs.Put(bp)
	return true
}

// plain tells whether s needs no escaping in JSON: printable ASCII other
// than the quote and the backslash.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
