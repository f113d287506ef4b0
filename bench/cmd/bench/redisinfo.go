package main

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisSnap is what one INFO call tells.
type redisSnap struct {
	cmds       map[string]int64 // calls per command, incl. those run by scripts
	usec       map[string]int64 // microseconds spent per command (a script's include its commands')
	reads      int64            // total_reads_processed
	conns      int64            // total_connections_received
	usedMemory int64
	clientMem  int64         // mem_clients_normal: connection buffers, not data
	keys       map[int]int64 // per database
	cpu        float64       // used_cpu_user + used_cpu_sys, seconds: Redis' own CPU time
}

// snapshot takes one INFO ("all" sections). Exactly one INFO command is
// sent per snapshot, so between two snapshots the driver itself accounts
// for one "info" call and one read, which redisPerRequest removes.
func (s *suite) snapshot(ctx context.Context) (redisSnap, error) {
	info, err := s.rc.Info(ctx, "all").Result()
	if err != nil {
		return redisSnap{}, fmt.Errorf("INFO: %w", err)
	}
	return parseInfo(info), nil
}

// settledSnapshot waits until Redis' data memory stays the same over half
// a second (at most 5 s): pool connections that open or close and
// rehashing tables move it by tens of kilobytes for a moment, which would
// blur a delta divided by a few dozen sessions.
func (s *suite) settledSnapshot(ctx context.Context) (redisSnap, error) {
	deadline := time.Now().Add(5 * time.Second)
	prev, err := s.snapshot(ctx)
	for err == nil && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		var cur redisSnap
		if cur, err = s.snapshot(ctx); err == nil {
			if cur.dataMemory() == prev.dataMemory() {
				return cur, nil
			}
			prev = cur
		}
	}
	return prev, err
}

func parseInfo(info string) redisSnap {
	snap := redisSnap{cmds: map[string]int64{}, usec: map[string]int64{}, keys: map[int]int64{}}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(name, "cmdstat_"):
			cmd := strings.TrimPrefix(name, "cmdstat_")
			for _, kv := range strings.Split(rest, ",") {
				if v, ok := strings.CutPrefix(kv, "calls="); ok {
					snap.cmds[cmd], _ = strconv.ParseInt(v, 10, 64)
				}
				if v, ok := strings.CutPrefix(kv, "usec="); ok {
					snap.usec[cmd], _ = strconv.ParseInt(v, 10, 64)
				}
			}
		case strings.HasPrefix(name, "db"):
			db, err := strconv.Atoi(name[2:])
			if err != nil {
				continue
			}
			for _, kv := range strings.Split(rest, ",") {
				if v, ok := strings.CutPrefix(kv, "keys="); ok {
					snap.keys[db], _ = strconv.ParseInt(v, 10, 64)
				}
			}
		case name == "total_reads_processed":
			snap.reads, _ = strconv.ParseInt(rest, 10, 64)
		case name == "total_connections_received":
			snap.conns, _ = strconv.ParseInt(rest, 10, 64)
		case name == "used_memory":
			snap.usedMemory, _ = strconv.ParseInt(rest, 10, 64)
		case name == "mem_clients_normal":
			snap.clientMem, _ = strconv.ParseInt(rest, 10, 64)
		case name == "used_cpu_user" || name == "used_cpu_sys":
			f, _ := strconv.ParseFloat(rest, 64)
			snap.cpu += f
		}
	}
	return snap
}

// dataMemory is used_memory without the clients' connection buffers, which
// grow and shrink with the connections' traffic and would blur a delta
// of a few hundred bytes per session.
func (r redisSnap) dataMemory() int64 { return r.usedMemory - r.clientMem }

func infoField(info, field string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

// writeCommands asks the server which commands write (COMMAND's "write" flag).
func writeCommands(ctx context.Context, rc *redis.Client) (map[string]bool, error) {
	cmds, err := rc.Command(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("COMMAND: %w", err)
	}
	out := map[string]bool{}
	for name, info := range cmds {
		for _, f := range info.Flags {
			if f == "write" {
				out[strings.ToLower(name)] = true
			}
		}
	}
	return out, nil
}

// redisPerRequest fills r's Redis figures from two snapshots around its
// run. The driver's own INFO calls are left out of the counts; their CPU
// (tens of µs, once per run) is not.
func (s *suite) redisPerRequest(r *Run, before, after redisSnap) {
	if r.Requests == 0 {
		return
	}
	n := float64(r.Requests)
	var total, writes int64
	r.CmdBreakdown = map[string]float64{}
	r.UsecBreakdown = map[string]float64{}
	for name, calls := range after.cmds {
		d := calls - before.cmds[name]
		if name == "info" || d == 0 {
			continue // the driver's own snapshots
		}
		total += d
		base, _, _ := strings.Cut(name, "|")
		if s.writeCmds[base] {
			writes += d
		}
		r.CmdBreakdown[name] = round3(float64(d) / n)
		r.UsecBreakdown[name] = round3(float64(after.usec[name]-before.usec[name]) / n)
	}
	conns := after.conns - before.conns
	reads := after.reads - before.reads - 1 - conns // less the INFO read and connection closes
	r.RedisCPUus = round3((after.cpu - before.cpu) * 1e6 / n)
	r.CmdsPerReq = round3(float64(total) / n)
	r.WritesPerReq = round3(float64(writes) / n)
	r.RoundTripsPerReq = round3(float64(max(reads, 0)) / n)
	r.ConnsPerReq = round3(float64(conns) / n)
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
