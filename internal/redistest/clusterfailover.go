package redistest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The helpers below break a Cluster started with replicas the way a crash
// does, and tell when the cluster has repaired itself: which node is a
// master now, when a replica has every write of its master, when it has
// taken over.

// running returns the indexes of the nodes whose process runs.
func (c *Cluster) running(tb testing.TB) []int {
	tb.Helper()
	var out []int
	for i, n := range c.Nodes {
		if n.PID() != 0 {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no node runs", c)
	}
	return out
}

// replication is a node's INFO replication, parsed.
type replication struct {
	role       string // "master" or "slave"
	masterAddr string // of a replica: host:port of its master
	linkUp     bool   // of a replica: master_link_status:up
	offset     int64  // master_repl_offset of a master, slave_repl_offset of a replica
}

func (c *Cluster) replication(ctx context.Context, i int) (replication, error) {
	info, err := c.admin[i].Info(ctx, "replication").Result()
	if err != nil {
		return replication{}, fmt.Errorf("INFO replication of %s: %w", c.Nodes[i].Addr, err)
	}
	var r replication
	var host, port string
	for _, line := range strings.Split(info, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "role":
			r.role = v
		case "master_host":
			host = v
		case "master_port":
			port = v
		case "master_link_status":
			r.linkUp = v == "up"
		case "master_repl_offset":
			if r.role == "master" {
				r.offset, _ = strconv.ParseInt(v, 10, 64)
			}
		case "slave_repl_offset":
			r.offset, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if host != "" {
		r.masterAddr = net.JoinHostPort(host, port)
	}
	return r, nil
}

// Masters returns the indexes of the running nodes that are masters now.
func (c *Cluster) Masters(tb testing.TB) []int {
	tb.Helper()
	var out []int
	for _, i := range c.running(tb) {
		r, err := c.replication(context.Background(), i)
		if err != nil {
			tb.Fatal(err)
		}
		if r.role == "master" {
			out = append(out, i)
		}
	}
	return out
}

// ReplicaOf returns the index of a running replica of node master.
func (c *Cluster) ReplicaOf(tb testing.TB, master int) int {
	tb.Helper()
	for _, i := range c.running(tb) {
		r, err := c.replication(context.Background(), i)
		if err != nil {
			tb.Fatal(err)
		}
		if r.role == "slave" && r.masterAddr == c.Nodes[master].Addr {
			return i
		}
	}
	tb.Fatalf("%s: node %s has no replica", c, c.Nodes[master].Addr)
	return -1
}

// HoldWritesUntilReplicated makes master hold every write command
// (CLIENT PAUSE WRITE, for at most d) and waits until replica has received
// and applied the whole replication stream (its slave_repl_offset equals
// the master's master_repl_offset). From then on, until the pause ends or
// the master dies, every write the master has acknowledged is on the
// replica: a crash now loses nothing. It returns the common offset.
//
// Reads go on during the pause; writes wait, unacknowledged.
func (c *Cluster) HoldWritesUntilReplicated(tb testing.TB, master, replica int, d time.Duration) int64 {
	tb.Helper()
	ctx := context.Background()
	if err := c.admin[master].Do(ctx, "CLIENT", "PAUSE", d.Milliseconds(), "WRITE").Err(); err != nil {
		tb.Fatalf("CLIENT PAUSE WRITE on %s: %v", c.Nodes[master].Addr, err)
	}
	deadline := time.Now().Add(d)
	for {
		m, err := c.replication(ctx, master)
		if err != nil {
			tb.Fatal(err)
		}
		r, err := c.replication(ctx, replica)
		if err != nil {
			tb.Fatal(err)
		}
		if r.linkUp && r.offset == m.offset {
			return m.offset
		}
		if time.Now().After(deadline) {
			tb.Fatalf("replica %s did not catch up with %s within %v: offset %d of %d (link up %v)",
				c.Nodes[replica].Addr, c.Nodes[master].Addr, d, r.offset, m.offset, r.linkUp)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Failover is when the cluster repaired itself after a master was killed.
type Failover struct {
	// Promoted is when the replica first answered role:master.
	Promoted time.Time
	// Agreed is when, after that, every running node answered
	// cluster_state:ok and named the replica as the owner of the dead
	// master's slots (CLUSTER SLOTS): from then on a client that asks any
	// node learns the new map.
	Agreed time.Time
}

// WaitForPromotion waits, polling every 10ms for at most d, until replica
// has taken over the slots of master (killed), and says when; it fails tb
// after d.
func (c *Cluster) WaitForPromotion(tb testing.TB, master, replica int, d time.Duration) Failover {
	tb.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(d)
	var f Failover
	for {
		now := time.Now()
		if f.Promoted.IsZero() {
			if r, err := c.replication(ctx, replica); err == nil && r.role == "master" {
				f.Promoted = now
			}
		}
		if !f.Promoted.IsZero() && c.agree(ctx, c.Nodes[master].Addr, c.Nodes[replica].Addr) {
			f.Agreed = now
			return f
		}
		if now.After(deadline) {
			tb.Fatalf("%s: %s did not take over from %s within %v (promoted at %v)",
				c, c.Nodes[replica].Addr, c.Nodes[master].Addr, d, f.Promoted)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// agree tells whether every running node reports cluster_state:ok and no
// slot served by dead, and some slot served by heir.
func (c *Cluster) agree(ctx context.Context, dead, heir string) bool {
	for i, n := range c.Nodes {
		if n.PID() == 0 {
			continue
		}
		info, err := c.admin[i].ClusterInfo(ctx).Result()
		if err != nil || !strings.Contains(info, "cluster_state:ok") {
			return false
		}
		ranges, err := c.admin[i].ClusterSlots(ctx).Result()
		if err != nil {
			return false
		}
		heirServes := false
		for _, r := range ranges {
			if len(r.Nodes) == 0 || r.Nodes[0].Addr == dead {
				return false
			}
			heirServes = heirServes || r.Nodes[0].Addr == heir
		}
		if !heirServes {
			return false
		}
	}
	return true
}
