package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// replicaLog writes the replicas' JSON log lines to one terminal, each
// line whole and prefixed with the replica's id; a request line is
// shortened to "r2  POST /login -> 303  1.2 ms".
type replicaLog struct {
	mu  sync.Mutex
	out io.Writer
}

func newReplicaLog(out io.Writer) *replicaLog { return &replicaLog{out: out} }

// For is devstack.Config.Output: the writer of replica id.
func (l *replicaLog) For(id string) io.Writer { return &lineWriter{id: id, log: l} }

func (l *replicaLog) line(id string, b []byte) {
	text := format(b)
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.out, "%-3s %s\n", id, text)
}

// lineWriter cuts what one replica writes into lines.
type lineWriter struct {
	id   string
	log  *replicaLog
	mu   sync.Mutex
	part []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		if i > 0 {
			w.log.line(w.id, w.part[:i])
		}
		w.part = w.part[i+1:]
	}
}

// format is a JSON log record as one short line: a request as method,
// route, status and latency; any other record as level, message and its
// fields. Anything else is shown as it is.
func format(b []byte) string {
	var rec map[string]any
	if json.Unmarshal(b, &rec) != nil {
		return string(b)
	}
	if rec["msg"] == "request" {
		s := fmt.Sprintf(" %v %v -> %v  %v ms", rec["method"], rec["route"], rec["status"], rec["latency_ms"])
		if e, ok := rec["err"]; ok {
			s += fmt.Sprintf("  err=%v", e)
		}
		return s
	}
	var keys []string
	for k := range rec {
		switch k {
		case "time", "level", "msg", "replica":
		default:
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := []string{fmt.Sprintf("%v %v", rec["level"], rec["msg"])}
	for _, k := range keys {
		v, _ := json.Marshal(rec[k])
		parts = append(parts, k+"="+strings.Trim(string(v), `"`))
	}
	return strings.Join(parts, " ")
}
