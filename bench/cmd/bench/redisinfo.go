package main

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// redisSnap is what one INFO call tells.
type redisSnap struct {
	cmds       map[string]int64 // calls per command, incl. those run by scripts
	reads      int64            // total_reads_processed
	conns      int64            // total_connections_received
	usedMemory int64
	keys       map[int]int64 // per database
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

func parseInfo(info string) redisSnap {
	snap := redisSnap{cmds: map[string]int64{}, keys: map[int]int64{}}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(name, "cmdstat_"):
			for _, kv := range strings.Split(rest, ",") {
				if v, ok := strings.CutPrefix(kv, "calls="); ok {
					snap.cmds[strings.TrimPrefix(name, "cmdstat_")], _ = strconv.ParseInt(v, 10, 64)
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
		}
	}
	return snap
}

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

// redisPerRequest fills r's Redis figures from two snapshots around its run.
func (s *suite) redisPerRequest(r *Run, before, after redisSnap) {
	if r.Requests == 0 {
		return
	}
	n := float64(r.Requests)
	var total, writes int64
	r.CmdBreakdown = map[string]float64{}
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
	}
	conns := after.conns - before.conns
	reads := after.reads - before.reads - 1 - conns // less the INFO read and connection closes
	r.CmdsPerReq = round3(float64(total) / n)
	r.WritesPerReq = round3(float64(writes) / n)
	r.RoundTripsPerReq = round3(float64(max(reads, 0)) / n)
	r.ConnsPerReq = round3(float64(conns) / n)
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
