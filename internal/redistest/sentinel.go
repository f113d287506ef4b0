package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name the sentinels monitor.
const MasterName = "mymaster"

// Sentinel is one master, one replica and three sentinels (quorum 2) on
// loopback ports. Down-after is 1s and the failover timeout 2s, so a dead
// master is replaced within a few seconds.
type Sentinel struct {
	tb        testing.TB
	Data      []*Server // Data[0] started as the master, Data[1] as its replica
	Sentinels []*Server
	sc        []*redis.SentinelClient
	proxy     *linkProxy // in front of Data[0], with SentinelConfig.LinkProxy

	mu     sync.Mutex
	known  map[string]*Server // address the sentinels use -> server
	killed string             // sentinel-known address of the last killed master
}

// SentinelConfig varies StartSentinelWith.
type SentinelConfig struct {
	// LinkProxy puts a TCP proxy in front of the first master: sentinels,
	// clients and the replica reach it through the proxy, and CutReplication
	// can then partition the replication link alone.
	LinkProxy bool
}

// StartSentinel starts the five processes and waits until the replica is
// in sync and every sentinel knows the replica and the two other sentinels
// (so a failover can be authorised). Everything is stopped, by PID, when
// the test ends.
func StartSentinel(tb testing.TB) *Sentinel { return StartSentinelWith(tb, SentinelConfig{}) }

// StartSentinelWith is StartSentinel with options.
func StartSentinelWith(tb testing.TB, cfg SentinelConfig) *Sentinel {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs Redis Sentinel: run make test")
	}
	master := Start(tb)
	masterAddr := master.Addr
	s := &Sentinel{tb: tb, known: map[string]*Server{}}
	if cfg.LinkProxy {
		s.proxy = startLinkProxy(tb, master.Addr)
		masterAddr = s.proxy.Addr
	}
	replica := Start(tb, "--replicaof", "127.0.0.1", portOf(masterAddr))
	s.Data = []*Server{master, replica}
	s.known[masterAddr], s.known[replica.Addr] = master, replica
	for range 3 {
		port := FreePort(tb)
		dir := tb.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf(`port %d
bind 127.0.0.1
protected-mode no
daemonize no
dir %s
logfile %s
sentinel monitor %s 127.0.0.1 %s 2
sentinel down-after-milliseconds %[4]s 1000
sentinel failover-timeout %[4]s 2000
sentinel parallel-syncs %[4]s 1
`, port, dir, filepath.Join(dir, "redis.log"), MasterName, portOf(masterAddr))
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			tb.Fatalf("sentinel config: %v", err)
		}
		sn := &Server{tb: tb, Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, args: []string{conf, "--sentinel"}}
		sn.Start()
		tb.Cleanup(sn.Stop)
		s.Sentinels = append(s.Sentinels, sn)
		sc := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr, MaxRetries: -1})
		tb.Cleanup(func() { sc.Close() })
		s.sc = append(s.sc, sc)
	}
	s.waitReady(20 * time.Second)
	return s
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func (s *Sentinel) waitReady(d time.Duration) {
	s.tb.Helper()
	deadline := time.Now().Add(d)
	rc := s.Data[1].Client(s.tb)
	ctx := context.Background()
	for {
		why := ""
		if info, err := rc.Info(ctx, "replication").Result(); err != nil || !strings.Contains(info, "master_link_status:up") {
			why = fmt.Sprintf("replica not in sync: %v", err)
		}
		for i, sc := range s.sc {
			if why != "" {
				break
			}
			reps, err := sc.Replicas(ctx, MasterName).Result()
			if err != nil || len(reps) != 1 || reps[0]["flags"] != "slave" {
				why = fmt.Sprintf("sentinel %d sees replicas %v (%v)", i, reps, err)
				break
			}
			peers, err := sc.Sentinels(ctx, MasterName).Result()
			if err != nil || len(peers) != 2 {
				why = fmt.Sprintf("sentinel %d sees %d other sentinels (%v)", i, len(peers), err)
				break
			}
			if err := sc.CkQuorum(ctx, MasterName).Err(); err != nil {
				why = fmt.Sprintf("sentinel %d: %v", i, err)
			}
		}
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("sentinel setup not ready: %s", why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// URL is the REDIS_URL of the setup: the three sentinels and the master name.
func (s *Sentinel) URL() string {
	return fmt.Sprintf("redis://%s/0?master_name=%s&addr=%s&addr=%s",
		s.Sentinels[0].Addr, MasterName, s.Sentinels[1].Addr, s.Sentinels[2].Addr)
}

// MasterAddr is the master's address as the first sentinel that answers
// reports it (the proxy's, with LinkProxy, before a failover).
func (s *Sentinel) MasterAddr() string {
	s.tb.Helper()
	var err error
	for _, sc := range s.sc {
		var hp []string
		if hp, err = sc.GetMasterAddrByName(context.Background(), MasterName).Result(); err == nil {
			return net.JoinHostPort(hp[0], hp[1])
		}
	}
	s.tb.Fatalf("no sentinel names the master: %v", err)
	return ""
}

// Master returns the data server that is the master now.
func (s *Sentinel) Master() *Server {
	s.tb.Helper()
	addr := s.MasterAddr()
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.known[addr]; m != nil {
		return m
	}
	s.tb.Fatalf("master %s is none of the data servers", addr)
	return nil
}

// Replica returns the data server that is not the master now.
func (s *Sentinel) Replica() *Server {
	if m := s.Master(); s.Data[0] != m {
		return s.Data[0]
	}
	return s.Data[1]
}

// CutReplication partitions the replication link (LinkProxy only): from
// now on the master acknowledges writes no replica receives, and neither
// side notices before repl-timeout (60s).
func (s *Sentinel) CutReplication() {
	s.tb.Helper()
	if s.proxy == nil {
		s.tb.Fatal("CutReplication needs SentinelConfig.LinkProxy")
	}
	s.proxy.cut.Store(true)
}

// KillMaster sends SIGKILL to the current master's process (no shutdown,
// no last write to disk or replica) and returns it, stopped.
func (s *Sentinel) KillMaster() *Server {
	s.tb.Helper()
	addr := s.MasterAddr()
	m := s.Master()
	s.mu.Lock()
	s.killed = addr
	s.mu.Unlock()
	m.Kill()
	return m
}

// WaitForNewMaster waits until every sentinel names a master other than
// the one KillMaster killed, and that server answers as a master
// (role:master); it returns its address.
func (s *Sentinel) WaitForNewMaster(d time.Duration) string {
	s.tb.Helper()
	s.mu.Lock()
	old := s.killed
	s.mu.Unlock()
	deadline := time.Now().Add(d)
	ctx := context.Background()
	for {
		addrs := map[string]bool{}
		for _, sc := range s.sc {
			if hp, err := sc.GetMasterAddrByName(ctx, MasterName).Result(); err == nil {
				addrs[net.JoinHostPort(hp[0], hp[1])] = true
			}
		}
		if len(addrs) == 1 && !addrs[old] {
			for a := range addrs {
				c := redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
				info, err := c.Info(ctx, "replication").Result()
				c.Close()
				if err == nil && strings.Contains(info, "role:master") {
					return a
				}
			}
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("no new master after %v (sentinels name %v)", d, addrs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill sends SIGKILL to the process (a crash: nothing is flushed) and
// marks the server stopped; Start brings it back.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd = nil
}
