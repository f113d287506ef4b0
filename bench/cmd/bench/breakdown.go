package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// components name the parts of a request a CPU profile is split into, by
// the cumulative share of the functions that do them. Shares overlap (the
// whole request contains the rest) and do not add up to 100%.
var components = []struct {
	name string
	re   *regexp.Regexp
}{
	{"whole HTTP request (net/http conn.serve)", regexp.MustCompile(`^net/http\.\(\*conn\)\.serve$`)},
	{"session load (verify, fetch, decode)", regexp.MustCompile(`(internal/session\.\(\*Manager\)\.Load|scs/v2\.\(\*SessionManager\)\.Load)$`)},
	{"session commit (writes)", regexp.MustCompile(`(internal/session\.\(\*Manager\)\.commit|scs/v2\.\(\*SessionManager\)\.Commit)$`)},
	{"go-redis calls (incl. waiting on the socket)", regexp.MustCompile(`^github\.com/redis/go-redis/v9\.\(\*baseClient\)\.process$`)},
	{"page rendering (html/template)", regexp.MustCompile(`templates\.\(\*Pages\)\.Render$`)},
	{"request log line (slog)", regexp.MustCompile(`^log/slog\.\(\*Logger\)\.LogAttrs$`)},
	{"HTTP metrics (prometheus)", regexp.MustCompile(`internal/http\.\(\*Metrics\)\.request$`)},
	{"engine metrics (Observer)", regexp.MustCompile(`internal/session\.\(\*Manager\)\.observe$`)},
	{"socket writes (HTTP and Redis)", regexp.MustCompile(`^net\.\(\*netFD\)\.Write$`)},
	{"socket reads (HTTP and Redis)", regexp.MustCompile(`^net\.\(\*netFD\)\.Read$`)},
	{"JSON decoding", regexp.MustCompile(`^encoding/json\.Unmarshal$`)},
	{"gob decoding", regexp.MustCompile(`^encoding/gob\.\(\*Decoder\)\.Decode$`)},
	{"GC background marking", regexp.MustCompile(`^runtime\.gcBgMarkWorker$`)},
	{"GC assists", regexp.MustCompile(`^runtime\.gcAssistAlloc$`)},
	{"scheduler (findRunnable, netpoll)", regexp.MustCompile(`^runtime\.(findRunnable|schedule)$`)},
}

// Share is one component's cumulative share of a CPU profile.
type Share struct {
	Component string  `json:"component"`
	Percent   float64 `json:"percent"`
}

var cumLine = regexp.MustCompile(`^\s*\S+\s+\S+%\s+\S+%\s+\S+\s+([0-9.]+)%\s+(.+)$`)

// breakdown reads `go tool pprof -top -cum` of a CPU profile and returns
// the share of each component found in it.
func breakdown(ctx context.Context, file, txt string) ([]Share, error) {
	cmd := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-cum", "-nodecount=500", file)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go tool pprof -cum %s: %w", file, err)
	}
	if err := os.WriteFile(txt, b, 0o644); err != nil {
		return nil, err
	}
	best := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		m := cumLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pct, _ := strconv.ParseFloat(m[1], 64)
		fn := strings.TrimSuffix(strings.TrimSpace(m[2]), " (inline)")
		for _, c := range components {
			if c.re.MatchString(fn) && pct > best[c.name] {
				best[c.name] = pct
			}
		}
	}
	var out []Share
	for _, c := range components {
		if v, ok := best[c.name]; ok {
			out = append(out, Share{Component: c.name, Percent: v})
		}
	}
	return out, nil
}
