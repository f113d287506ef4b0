package redisconn

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessiond/sessiond/internal/redistest"
)

// storeTimeout is the Options.Timeout (REDIS_TIMEOUT) of these tests, and
// refusedBound how soon a command must fail when the connection is
// refused: at once, not after the timeout. The bound is judged from each
// command's own start. Half the timeout is slack for a loaded 2-core
// machine under -race (where a refused GET took 515 ms), and still well
// short of what the bound guards against: with go-redis' default pool
// retry (DialerRetries 5) each GET takes at least 1.7 s (on Sentinel the
// first one 1.3 s, and the sentinels have promoted the replica before the
// next).
const (
	storeTimeout = 2 * time.Second
	refusedBound = storeTimeout / 2
)

// TestRefusedConnectionFailsAtOnce: on every topology, with the node the
// key lives on stopped (its port closed: connection refused), a command
// with the whole store timeout to spend fails well within it, again and
// again; once the node is back (or, on Sentinel, the replica promoted) the
// same client succeeds by itself. Before DialerRetries 1, each command
// dialled 4 × 5 times 100ms apart and used up the timeout.
func TestRefusedConnectionFailsAtOnce(t *testing.T) {
	t.Parallel()
	t.Run("single", func(t *testing.T) {
		t.Parallel()
		s := redistest.Start(t)
		c := mustOpen(t, s.URL())
		checkRefused(t, c, "k", 10, false, s.Stop, s.Start)
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		cl := redistest.StartCluster(t)
		c := mustOpen(t, cl.URL())
		const key = "k"
		owner := cl.Nodes[cl.Owner(t, cl.Slot(t, key))]
		checkRefused(t, c, key, 10, false, owner.Stop, owner.Start)
	})
	t.Run("sentinel", func(t *testing.T) {
		t.Parallel()
		s := redistest.StartSentinel(t)
		c := mustOpen(t, s.URL())
		// The master is killed for good: the client is refused until the
		// sentinels name the replica (down-after 1s), then follows them.
		// Three GETs fit well before that.
		checkRefused(t, c, "k", 3, true, func() { s.KillMaster() }, func() {})
	})
}

func mustOpen(t *testing.T, url string) redis.UniversalClient {
	t.Helper()
	c, err := Open(url, Options{Timeout: storeTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// checkRefused writes key (and with waitReplica waits until a replica has
// it), calls stop, and checks that n GETs in a row each
// fail within refusedBound (with a connection error, not a Redis reply);
// then calls restart and waits, for at most 30s, until a GET returns the
// value.
func checkRefused(t *testing.T, c redis.UniversalClient, key string, n int, waitReplica bool, stop, restart func()) {
	t.Helper()
	ctx := context.Background()
	if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if waitReplica { // the replica must have it before the master dies
		if n, err := c.Do(ctx, "WAIT", 1, 1000).Int(); n != 1 || err != nil {
			t.Fatalf("WAIT 1: %d %v", n, err)
		}
	}
	stop()
	var slowest time.Duration
	for i := range n {
		cctx, cancel := context.WithTimeout(ctx, storeTimeout)
		start := time.Now()
		err := c.Get(cctx, key).Err()
		took := time.Since(start)
		cancel()
		slowest = max(slowest, took)
		var reply redis.Error
		switch {
		case err == nil:
			t.Fatalf("GET %d with the node stopped succeeded", i)
		case errors.As(err, &reply):
			t.Fatalf("GET %d with the node stopped: a Redis reply %q, want a refused connection", i, err)
		case !refused(err):
			t.Errorf("GET %d with the node stopped: %v, want connection refused", i, err)
		}
		if took > refusedBound {
			t.Errorf("GET %d with the connection refused failed after %v, want within %v (timeout %v): %v", i, took.Round(time.Millisecond), refusedBound, storeTimeout, err)
		}
	}
	t.Logf("%d GETs with the connection refused: the slowest failed in %v (timeout %v)", n, slowest.Round(time.Millisecond), storeTimeout)

	restart()
	back := time.Now()
	for {
		cctx, cancel := context.WithTimeout(ctx, storeTimeout)
		v, err := c.Get(cctx, key).Result()
		cancel()
		if err == nil && v == "v" {
			t.Logf("served again %v after the restart", time.Since(back).Round(time.Millisecond))
			return
		}
		if time.Since(back) > 30*time.Second {
			t.Fatalf("not served 30s after the restart: %q %v", v, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// refused tells whether err is a failed connection: refused at dial, or
// the end of a pooled connection the stopped server closed.
func refused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func TestDialIsNotRetriedByThePool(t *testing.T) {
	t.Parallel()
	for url, want := range map[string]int{
		"redis://h:6379/0":                                       dialOnce,
		"redis://s1:26379?master_name=m":                         dialOnce,
		"redis://n1:7000?addr=n2:7001":                           dialOnce,
		"redis://s1:26379?master_name=m&dialer_retries=3":        3,
		"redis://n1:7000?addr=n2:7001&dialer_retries=4":          4,
		"redis://n1:7000?cluster=true&dialer_retries=2":          2,
		"redis://n1:7000?addr=n2:7001&dial_timeout=100ms":        dialOnce,
		"redis://s1:26379?master_name=m&read_timeout=100ms":      dialOnce,
		"redis://:pw@h:6379/1?dial_timeout=100ms":                dialOnce,
		"rediss://u:pw@cfg.example:6379?cluster=1&max_retries=2": dialOnce,
	} {
		c, err := parse(url, Options{Timeout: time.Second})
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		var got int
		switch c.kind {
		case Single:
			got = c.single.DialerRetries
		case Sentinel:
			got = c.failover.DialerRetries
		case Cluster:
			got = c.cluster.DialerRetries
		}
		if got != want {
			t.Errorf("%s: DialerRetries %d, want %d", url, got, want)
		}
	}
}
