package redistest

import (
	"context"
	"testing"
	"time"
)

func TestStartClusterSpreadsSlots(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := StartCluster(t)
	t.Logf("cluster up in %v", time.Since(start))
	owners := map[int]bool{}
	for _, slot := range []int{0, 8000, 16383} {
		owners[c.Owner(t, slot)] = true
	}
	if len(owners) != 3 {
		t.Errorf("slots 0, 8000, 16383 are served by %d nodes, want 3", len(owners))
	}
	cl := c.Client(t)
	if err := cl.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := c.Owner(t, c.Slot(t, "k")); c.DBSizes(t)[got] != 1 {
		t.Errorf("key not on its slot's owner: %v", c.DBSizes(t))
	}
}

func TestStartSentinelFailsOver(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := StartSentinel(t)
	t.Logf("sentinel setup up in %v", time.Since(start))
	old := s.KillMaster()
	start = time.Now()
	now := s.WaitForNewMaster(30 * time.Second)
	t.Logf("new master %s (was %s) after %v", now, old.Addr, time.Since(start))
	if now != s.Data[1].Addr || s.Master() != s.Data[1] {
		t.Errorf("new master %s, want the replica %s", now, s.Data[1].Addr)
	}
}

func TestSentinelCutReplicationLosesWrites(t *testing.T) {
	t.Parallel()
	s := StartSentinelWith(t, SentinelConfig{LinkProxy: true})
	ctx := context.Background()
	m := s.Master().Client(t)
	if err := m.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := m.Wait(ctx, 1, time.Second).Result(); n != 1 || err != nil {
		t.Fatalf("WAIT before the cut: %d %v", n, err)
	}
	s.CutReplication()
	if err := m.Set(ctx, "after", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := m.Wait(ctx, 1, 200*time.Millisecond).Result(); n != 0 {
		t.Errorf("WAIT after the cut: %d replicas, want 0", n)
	}
	s.KillMaster()
	addr := s.WaitForNewMaster(30 * time.Second)
	nm := s.Master().Client(t)
	if addr != s.Data[1].Addr || nm.Exists(ctx, "before").Val() != 1 || nm.Exists(ctx, "after").Val() != 0 {
		t.Errorf("new master %s: before %d after %d, want the replica with only the write before the cut",
			addr, nm.Exists(ctx, "before").Val(), nm.Exists(ctx, "after").Val())
	}
}

func TestClusterReplicaTakesOverFromKilledMaster(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := StartClusterWith(t, ClusterConfig{Replicas: 1})
	t.Logf("cluster of 3 masters and 3 replicas up in %v", time.Since(start))
	if m := c.Masters(t); len(m) != 3 || len(c.Nodes) != 6 {
		t.Fatalf("masters %v of %d nodes, want 3 of 6", m, len(c.Nodes))
	}
	ctx := context.Background()
	cl := c.Client(t)
	const key = "survives"
	if err := cl.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	master := c.Owner(t, c.Slot(t, key))
	replica := c.ReplicaOf(t, master)
	offset := c.HoldWritesUntilReplicated(t, master, replica, 5*time.Second)
	killedAt := time.Now()
	c.Nodes[master].Kill()
	f := c.WaitForPromotion(t, master, replica, 30*time.Second)
	t.Logf("master %s killed at replication offset %d; replica %s promoted after %v, every node agreed after %v",
		c.Nodes[master].Addr, offset, c.Nodes[replica].Addr,
		f.Promoted.Sub(killedAt).Round(time.Millisecond), f.Agreed.Sub(killedAt).Round(time.Millisecond))
	if got := c.Owner(t, c.Slot(t, key)); got != replica {
		t.Errorf("slot of %q served by node %d after the failover, want the replica %d", key, got, replica)
	}
	if v, err := c.Node(replica).Get(ctx, key).Result(); v != "v" || err != nil {
		t.Errorf("GET %s on the promoted replica = %q, %v; want the write acknowledged before the kill", key, v, err)
	}
	if m := c.Masters(t); len(m) != 3 {
		t.Errorf("masters after the failover %v, want 3", m)
	}
}
