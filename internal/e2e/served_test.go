package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// Served is one request as a replica logged it: when it began there and
// how long the replica took. It is the request's own measure, from its
// own start, which neither the balancer nor a loaded load generator can
// stretch.
type Served struct {
	Replica string
	Route   string
	Status  int
	Start   time.Time
	Took    time.Duration
}

// End is when the replica finished the request.
func (s Served) End() time.Time { return s.Start.Add(s.Took) }

// servedRequests reads the request lines ("msg":"request") of every
// replica's log, every start of it.
func servedRequests(t *testing.T, top *Topology) []Served {
	t.Helper()
	var out []Served
	for _, r := range top.Replicas {
		f, err := os.Open(r.LogPath())
		if err != nil {
			t.Fatalf("replica %s: %v", r.ID, err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if !strings.Contains(string(line), `"msg":"request"`) {
				continue
			}
			var rec struct {
				Time      time.Time `json:"time"`
				Msg       string    `json:"msg"`
				Route     string    `json:"route"`
				Status    int       `json:"status"`
				LatencyMS float64   `json:"latency_ms"`
			}
			if json.Unmarshal(line, &rec) != nil || rec.Msg != "request" {
				continue
			}
			took := time.Duration(rec.LatencyMS * float64(time.Millisecond))
			// The line is written as the request ends.
			out = append(out, Served{Replica: r.ID, Route: rec.Route, Status: rec.Status, Start: rec.Time.Add(-took), Took: took})
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			t.Fatalf("replica %s log: %v", r.ID, err)
		}
	}
	return out
}
