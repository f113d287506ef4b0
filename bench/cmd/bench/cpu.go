package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The machine may be shared (other builds and tests running). Every run
// records how much CPU went to processes other than the load generator,
// the targets and redis-server ("foreign" CPU), and what the target spent
// per request, which contention distorts less than req/s. Redis' own CPU
// per request comes from INFO (redisinfo.go).

const clockTick = 100.0 // USER_HZ on Linux

// busyTicks is the machine's non-idle CPU time so far.
func busyTicks() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat: %q", line)
	}
	var total float64
	for i, v := range f[1:] {
		if i >= 8 { // guest times are already in user/nice
			break
		}
		n, _ := strconv.ParseFloat(v, 64)
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		total += n
	}
	return total, nil
}

// procTicks is the CPU time (user+system) pid used so far, 0 if it is gone.
func procTicks(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return u + st
}

// cpuSnap is CPU time so far, in ticks: the machine's, and of our processes.
type cpuSnap struct {
	at     time.Time
	busy   float64
	target float64
	redis  float64
	others float64 // the other targets (idle during a run, but they count as ours)
}

func (s *suite) cpuSnap(t *target) cpuSnap {
	c := cpuSnap{at: time.Now()}
	c.busy, _ = busyTicks()
	c.redis = procTicks(s.redis.PID())
	for _, o := range s.targets {
		if o == t {
			c.target = procTicks(o.proc.PID())
		} else {
			c.others += procTicks(o.proc.PID())
		}
	}
	return c
}

// foreignCPU is CPUs' worth used by processes other than ours between a and
// b; extra is CPU seconds of ours not in the snapshots (wrk).
func foreignCPU(a, b cpuSnap, extra float64) float64 {
	secs := b.at.Sub(a.at).Seconds()
	if secs <= 0 {
		return 0
	}
	ours := (b.target - a.target + b.redis - a.redis + b.others - a.others) / clockTick
	return max((b.busy-a.busy)/clockTick-ours-extra, 0) / secs
}

// waitQuiet waits (up to QuietMax) until other processes use less than
// QuietCPU CPUs over a second, and returns what it last saw.
func (s *suite) waitQuiet(ctx context.Context) float64 {
	deadline := time.Now().Add(s.cfg.QuietMax)
	var seen float64
	for {
		a := s.cpuSnap(nil)
		select {
		case <-ctx.Done():
			return seen
		case <-time.After(time.Second):
		}
		seen = foreignCPU(a, s.cpuSnap(nil), 0)
		if seen < s.cfg.QuietCPU || time.Now().After(deadline) {
			if seen >= s.cfg.QuietCPU {
				s.logf("machine still busy (%.2f CPUs used by other processes); measuring anyway", seen)
			}
			return seen
		}
	}
}
