package redisconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessiond/sessiond/internal/redistest"
)

// TestClusterClientFollowsFailoverAtOnce: a master of a Cluster with
// replicas is killed once its replica has all its writes. The client Open
// returns serves the key from the promoted replica within a second of the
// promotion, instead of dialling the dead address until go-redis' next
// periodic reload (60s).
func TestClusterClientFollowsFailoverAtOnce(t *testing.T) {
	t.Parallel()
	cl := redistest.StartClusterWith(t, redistest.ClusterConfig{Replicas: 1})
	c := mustOpen(t, cl.URL())
	ctx := context.Background()
	const key = "follows"
	if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	master := cl.Owner(t, cl.Slot(t, key))
	heir := cl.ReplicaOf(t, master)
	cl.HoldWritesUntilReplicated(t, master, heir, 5*time.Second)
	killedAt := time.Now()
	cl.Nodes[master].Kill()

	// Keep using the client during the failover, as the service does: each
	// failure is what tells the client to look again.
	done := make(chan time.Time, 1)
	stop, stopped := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(stop); <-stopped }) // before the client is closed
	go func() {
		defer close(stopped)
		defer close(done)
		for time.Since(killedAt) < 60*time.Second {
			select {
			case <-stop:
				return
			default:
			}
			cctx, cancel := context.WithTimeout(ctx, storeTimeout)
			v, err := c.Get(cctx, key).Result()
			cancel()
			if err == nil && v == "v" {
				done <- time.Now()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	f := cl.WaitForPromotion(t, master, heir, 30*time.Second)
	const bound = time.Second
	select {
	case served, ok := <-done:
		if !ok {
			t.Fatalf("the client never served %q again (60s after the kill)", key)
		}
		t.Logf("replica promoted %v after the kill; the client served the key again %v after the promotion",
			f.Promoted.Sub(killedAt).Round(time.Millisecond), served.Sub(f.Promoted).Round(time.Millisecond))
		if d := served.Sub(f.Promoted); d > bound {
			t.Errorf("the client served the key %v after the promotion, want within %v", d.Round(time.Millisecond), bound)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the client did not serve %q within 10s of the promotion (%v after the kill): it still routes to the dead master",
			key, f.Promoted.Sub(killedAt).Round(time.Millisecond))
	}
}

func TestNodeMayBeGone(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	c := s.Client(t)
	ctx := context.Background()
	replyErr := c.Do(ctx, "NO-SUCH-COMMAND").Err()
	if replyErr == nil {
		t.Fatal("an unknown command succeeded")
	}
	refusedErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		err  error
		gone bool
	}{
		{nil, false},
		{redis.Nil, false},
		{replyErr, false},
		{fmt.Errorf("session: load: %w", replyErr), false},
		{context.Canceled, false},
		{redis.ErrClosed, false},
		{refusedErr, true},
		{fmt.Errorf("wrapped: %w", refusedErr), true},
		{io.EOF, true},
		{context.DeadlineExceeded, true},
		{redis.ErrPoolTimeout, true},
		{errors.New("read tcp: i/o timeout"), true},
	} {
		if got := nodeMayBeGone(tc.err); got != tc.gone {
			t.Errorf("nodeMayBeGone(%v) = %v, want %v", tc.err, got, tc.gone)
		}
	}
}
