package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/redistest"
)

const (
	// clusterUsers is how many simulated users read and add to their carts.
	clusterUsers = 20
	// clusterStoreTimeout is REDIS_TIMEOUT, and fast503 how soon a 503 must
	// come: a dead node refuses connections, which go-redis need not wait
	// out (see redisconn.Options).
	clusterStoreTimeout = 2 * time.Second
	fast503             = clusterStoreTimeout / 4
	// servedAgainBound is how soon after the promotion every replica of
	// the service must serve the users of the failed shard again.
	servedAgainBound = 5 * time.Second
	// afterPromotion is how long the load runs on after the promotion: a
	// fixed phase, longer than servedAgainBound so that failures which go
	// on past it are seen.
	afterPromotion = 10 * time.Second
)

// TestClusterFailoverUnderLoad: a Redis Cluster of three masters with a
// replica each; three replicas of the service behind nginx; 20 users
// reading and adding to their carts. The master holding the most keys is
// killed with SIGKILL once its replica has every write it acknowledged,
// and the cluster promotes the replica.
//
// Every replica of the service serves the users of that shard again within
// servedAgainBound of the promotion; until then they get 503 with
// Retry-After, each within fast503, and nothing else: no logout, no other
// 5xx, no lost connection. (While the dead master's slots have no owner,
// from the moment the nodes mark it failed until the promotion, the whole
// cluster answers CLUSTERDOWN, so every user sees a few 503s.)
// No acknowledged add is lost: each cart item holds its adds answered 303,
// plus at most its adds answered 503 (see CheckSessions).
//
// "Caught up" is exact, not a race with the load: the master holds writes
// (CLIENT PAUSE WRITE) until the replica's replication offset equals its
// own, then dies with those writes unexecuted and unacknowledged. Reads go
// on until the kill.
func TestClusterFailoverUnderLoad(t *testing.T) {
	cl := redistest.StartClusterWith(t, redistest.ClusterConfig{Replicas: 1})
	keepClusterLogsOnFailure(t, cl)
	top := StartTopology(t, Options{RedisURL: cl.URL(), RedisTimeout: clusterStoreTimeout})
	load := StartLoad(t, top.LB, "cluster-failover", LoadConfig{
		Users: clusterUsers, Think: 20 * time.Millisecond, MaxDuration: loadBound, MaxRequests: 3000,
	})
	load.Run(warmUp)

	victim := busiestMaster(t, cl)
	heir := cl.ReplicaOf(t, victim)
	offset := cl.HoldWritesUntilReplicated(t, victim, heir, 5*time.Second)
	killedAt := time.Now()
	cl.Nodes[victim].Kill()
	f := cl.WaitForPromotion(t, victim, heir, 30*time.Second)
	load.Run(afterPromotion - time.Since(f.Promoted))
	rep := load.Stop(t)

	t.Logf("master %s killed (SIGKILL) at replication offset %d; replica %s promoted %v after the kill, every node agreed %v after the kill",
		cl.Nodes[victim].Addr, offset, cl.Nodes[heir].Addr,
		f.Promoted.Sub(killedAt).Round(time.Millisecond), f.Agreed.Sub(killedAt).Round(time.Millisecond))
	t.Log(rep.Summary())

	after := rep.Select(func(r Result) bool { return !r.Start.Before(killedAt) })
	affected := map[int]bool{} // users whose session is on the failed shard
	var unavailable []Result
	var other []Result
	for _, r := range after {
		switch r.Kind {
		case OK:
		case Unavailable:
			affected[r.User] = true
			unavailable = append(unavailable, r)
		default:
			other = append(other, r)
		}
	}
	var slowest time.Duration
	for _, r := range unavailable {
		slowest = max(slowest, r.Latency)
	}
	t.Logf("%d of %d users got 503s after the kill (%d after the promotion): %d answers, the slowest in %v (REDIS_TIMEOUT %v)",
		len(affected), clusterUsers, len(stillFailing(after, f.Promoted)), len(unavailable), slowest.Round(time.Millisecond), clusterStoreTimeout)
	if slowest > fast503 {
		t.Errorf("the slowest 503 took %v, want within %v (REDIS_TIMEOUT %v): a refused connection is waited out", slowest.Round(time.Millisecond), fast503, clusterStoreTimeout)
	}
	logSome(t, "requests answered other than ok or 503 with Retry-After", other)
	if len(other) > 0 {
		t.Errorf("%d requests failed other than with 503 + Retry-After (a logout, a 500, a 502, a lost connection); want none", len(other))
	}
	if len(affected) == 0 {
		t.Fatal("no user got a 503 after the kill: the failover was not seen")
	}

	var figures []string
	for _, rp := range top.Replicas {
		back, lastFail, ok := servedAgain(after, rp.ID, affected)
		if !ok {
			t.Errorf("replica %s served no user who had failed after its last failure (%v after the promotion), in the %v the load ran after the promotion",
				rp.ID, lastFail.Sub(f.Promoted).Round(time.Millisecond), afterPromotion)
			continue
		}
		d := back.Sub(f.Promoted)
		figures = append(figures, fmt.Sprintf("%s %v", rp.ID, d.Round(time.Millisecond)))
		if d > servedAgainBound {
			t.Errorf("replica %s served every user again %v after the promotion (its last failure ended %v after it), want within %v",
				rp.ID, d.Round(time.Millisecond), lastFail.Sub(f.Promoted).Round(time.Millisecond), servedAgainBound)
		}
	}
	t.Logf("each replica served every user again, after the promotion: %s", strings.Join(figures, ", "))
	stuck := stillFailing(after, f.Promoted.Add(servedAgainBound))
	if len(stuck) > 0 {
		t.Errorf("%d users still failed %v after the promotion: users %v", len(stuck), servedAgainBound, stuck)
	}
	rep.CheckSessions(t, top.LB)
}

// busiestMaster is the master holding the most keys: the most users lose
// their shard when it dies.
func busiestMaster(t *testing.T, cl *redistest.Cluster) int {
	t.Helper()
	sizes := cl.DBSizes(t)
	best := -1
	for _, m := range cl.Masters(t) {
		if best < 0 || sizes[m] > sizes[best] {
			best = m
		}
	}
	return best
}

// servedAgain is when replica id first answered a user who had failed with
// success, after the last failure it answered anyone; ok is false when no
// such success came.
func servedAgain(rs []Result, id string, affected map[int]bool) (back, lastFail time.Time, ok bool) {
	for _, r := range rs {
		if r.Replica == id && r.Kind != OK && r.End().After(lastFail) {
			lastFail = r.End()
		}
	}
	for _, r := range rs {
		if r.Replica == id && r.Kind == OK && affected[r.User] && r.Start.After(lastFail) && (!ok || r.End().Before(back)) {
			back, ok = r.End(), true
		}
	}
	return back, lastFail, ok
}

// stillFailing lists the users with a failed request started after since.
func stillFailing(rs []Result, since time.Time) []int {
	var users []int
	for _, r := range rs {
		if r.Kind != OK && r.Start.After(since) && !slices.Contains(users, r.User) {
			users = append(users, r.User)
		}
	}
	slices.Sort(users)
	return users
}

// keepClusterLogsOnFailure copies every node's redis.log into the output
// folder when the test has failed (registered after the nodes started, so
// it runs before their folders are removed).
func keepClusterLogsOnFailure(t *testing.T, cl *redistest.Cluster) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		dst := filepath.Join(outputDir(t), "e2e-logs", strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Logf("keeping cluster logs: %v", err)
			return
		}
		for i, n := range cl.Nodes {
			copyFile(filepath.Join(n.Dir, "redis.log"), filepath.Join(dst, fmt.Sprintf("redis-node%d-%s.log", i, strings.ReplaceAll(n.Addr, ":", "_"))))
		}
	})
}
