package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// scriptCommands run Lua; their commandstats usec includes the commands
// the script calls.
var scriptCommands = map[string]bool{
	"eval": true, "evalsha": true, "eval_ro": true, "evalsha_ro": true, "fcall": true, "fcall_ro": true,
}

// usesScripts tells whether any script ran between two snapshots.
func usesScripts(before, after redisSnap) bool {
	for name, calls := range after.cmds {
		if scriptCommands[name] && calls > before.cmds[name] {
			return true
		}
	}
	return false
}

// scriptShares finds, per command, the share of its calls that came from
// scripts: it watches Redis with MONITOR (which marks those "[db lua]")
// while a light load of the same scenario (2 connections, 1 s) runs, after
// the measured run. MONITOR slows Redis, so it never runs during a
// measured run.
func (s *suite) scriptShares(ctx context.Context, t *target, scenario, cookies string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.redisAddr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		return nil, err
	}
	rd := bufio.NewReaderSize(conn, 1<<16)
	if line, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+OK") {
		return nil, fmt.Errorf("MONITOR: %q %v", line, err)
	}
	all, fromScripts := map[string]int64{}, map[string]int64{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		db := "[" + strconv.Itoa(t.DB) + " "
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			// +1796171216.317075 [3 lua] "hset" "h" "f" "v"
			_, rest, ok := strings.Cut(line, " ")
			if !ok || !strings.HasPrefix(rest, db) {
				continue
			}
			who, cmd, ok := strings.Cut(rest[len(db):], "] \"")
			if !ok {
				continue
			}
			name, _, _ := strings.Cut(cmd, "\"")
			name = strings.ToLower(name)
			all[name]++
			if who == "lua" {
				fromScripts[name]++
			}
		}
	}()
	_, werr := s.wrkWith(ctx, t.Base, scenario, cookies, time.Second, 2, 1)
	time.Sleep(100 * time.Millisecond) // the last lines
	conn.Close()
	wg.Wait()
	if werr != nil {
		return nil, werr
	}
	out := map[string]float64{}
	for name, n := range fromScripts {
		out[name] = round3(float64(n) / float64(all[name]))
	}
	return out, nil
}
