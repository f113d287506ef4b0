package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of three masters, and optionally replicas of
// each, every node a redis-server on free loopback ports (client and
// cluster bus), made with redis-cli --cluster create.
type Cluster struct {
	// Nodes are the three masters first, then the replicas (as started:
	// after a failover a replica may be a master; see Masters and ReplicaOf).
	Nodes []*Server
	admin []*redis.Client // one plain client per node, for the helpers
}

// ClusterConfig varies StartClusterWith.
type ClusterConfig struct {
	// Replicas is the number of replicas of each master (default 0).
	Replicas int
}

// clusterNodeTimeout is cluster-node-timeout: a master unreachable this
// long is marked failing, and its replica takes over a moment later.
const clusterNodeTimeout = 2 * time.Second

// CLIBinary returns the path of redis-cli or fails tb.
func CLIBinary(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("redis-cli")
	if err != nil {
		tb.Fatalf("redis-cli not found: install it (Debian: apt-get install redis-server, or run 'make deps'); the Cluster tests need it")
	}
	return p
}

// StartCluster starts three cluster-enabled servers, joins them with
// redis-cli --cluster create (16384 slots over three masters) and waits
// until every node reports cluster_state:ok and knows the others. The
// servers are stopped, by PID, when the test ends.
func StartCluster(tb testing.TB) *Cluster { return StartClusterWith(tb, ClusterConfig{}) }

// StartClusterWith is StartCluster with options. With replicas it also
// waits until every replica is in sync with its master.
func StartClusterWith(tb testing.TB, cfg ClusterConfig) *Cluster {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs a Redis Cluster: run make test")
	}
	cli := CLIBinary(tb)
	c := &Cluster{}
	for range 3 * (1 + cfg.Replicas) {
		// The client port and the cluster bus port are picked together:
		// one at a time, the kernel once gave both the same port and the
		// node could not start.
		ports := FreePorts(tb, 2)
		c.Nodes = append(c.Nodes, startOn(tb, ports[0],
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", // in the server's own dir
			"--cluster-port", strconv.Itoa(ports[1]), // not port+10000, which may be taken or past 65535
			"--cluster-node-timeout", strconv.Itoa(int(clusterNodeTimeout.Milliseconds())),
		))
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.Nodes {
		args = append(args, n.Addr)
	}
	// redis-cli makes the first three nodes the masters (one host: no
	// spreading to do) and warns that replicas share their master's host.
	args = append(args, "--cluster-replicas", strconv.Itoa(cfg.Replicas), "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range c.Nodes {
		c.admin = append(c.admin, n.Client(tb))
	}
	c.waitOK(tb, 20*time.Second)
	return c
}

func (c *Cluster) waitOK(tb testing.TB, d time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for i, n := range c.Nodes {
		for {
			info, err := c.admin[i].ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r\n", len(c.Nodes))) &&
				strings.Contains(info, "cluster_slots_ok:16384") && c.inSync(i) {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("cluster node %s not ready: %v\n%s", n.Addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// inSync tells whether node i is a master or a replica whose link to its
// master is up.
func (c *Cluster) inSync(i int) bool {
	info, err := c.admin[i].Info(context.Background(), "replication").Result()
	return err == nil && (strings.Contains(info, "role:master") || strings.Contains(info, "master_link_status:up"))
}

// URL is the REDIS_URL naming every node (Cluster by several addresses).
func (c *Cluster) URL() string {
	u := "redis://" + c.Nodes[0].Addr
	for i, n := range c.Nodes[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + n.Addr
	}
	return u
}

// SeedURL is a REDIS_URL naming one node, forced to Cluster.
func (c *Cluster) SeedURL(i int) string {
	return "redis://" + c.Nodes[i].Addr + "?cluster=true"
}

// Node returns a plain client of node i (owned by the Cluster).
func (c *Cluster) Node(i int) *redis.Client { return c.admin[i] }

// Client returns a cluster client closed at the end of the test.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	tb.Cleanup(func() { cl.Close() })
	return cl
}

// Slot is the hash slot of key, as the cluster computes it (CLUSTER KEYSLOT).
func (c *Cluster) Slot(tb testing.TB, key string) int {
	tb.Helper()
	n, err := c.admin[0].ClusterKeySlot(context.Background(), key).Result()
	if err != nil {
		tb.Fatalf("CLUSTER KEYSLOT: %v", err)
	}
	return int(n)
}

// Owner returns the index in Nodes of the master serving slot, per CLUSTER
// SLOTS as the first running node sees it.
func (c *Cluster) Owner(tb testing.TB, slot int) int {
	tb.Helper()
	ranges, err := c.admin[c.running(tb)[0]].ClusterSlots(context.Background()).Result()
	if err != nil {
		tb.Fatalf("CLUSTER SLOTS: %v", err)
	}
	for _, r := range ranges {
		if slot < r.Start || slot > r.End || len(r.Nodes) == 0 {
			continue
		}
		for i, n := range c.Nodes {
			if n.Addr == r.Nodes[0].Addr {
				return i
			}
		}
	}
	tb.Fatalf("no node serves slot %d", slot)
	return -1
}

// DBSizes returns the number of keys on each node, in the order of Nodes
// (replicas hold copies of their master's keys; a stopped node counts 0).
func (c *Cluster) DBSizes(tb testing.TB) []int64 {
	tb.Helper()
	out := make([]int64, len(c.Nodes))
	for _, i := range c.running(tb) {
		n := c.Nodes[i]
		v, err := c.admin[i].DBSize(context.Background()).Result()
		if err != nil {
			tb.Fatalf("DBSIZE %s: %v", n.Addr, err)
		}
		out[i] = v
	}
	return out
}

// CommandStats sums INFO commandstats over every running node.
func (c *Cluster) CommandStats(tb testing.TB) map[string]int64 {
	tb.Helper()
	sum := map[string]int64{}
	for _, i := range c.running(tb) {
		for k, v := range CommandStats(tb, c.admin[i]) {
			sum[k] += v
		}
	}
	return sum
}

// String names the nodes, for failure messages.
func (c *Cluster) String() string {
	var s []string
	for _, n := range c.Nodes {
		s = append(s, n.Addr)
	}
	return fmt.Sprintf("cluster%v", s)
}
