package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// waitPolicy is WAIT's arguments.
type waitPolicy struct {
	replicas int
	timeout  time.Duration
}

// WithWait returns a copy of b whose logins (Create), regenerates (Rename)
// and logouts or revokes (End) are acknowledged only once at least
// replicas replicas hold the write, so a Sentinel failover that promotes
// one of them cannot lose them. Changes to session data (Apply: theme,
// cart, counters) are not waited for: they stay asynchronous.
//
// Each waited write is one round trip: the script and WAIT go
// in one pipeline on one connection, which is what WAIT needs (it waits for
// the writes of its own connection). When fewer replicas answer within
// timeout the call fails (the caller answers 503): the write was applied on
// the master but is not known to be safe. For a login that is a login to
// redo; for a regenerate, the old id is gone already.
//
// The price is the replica's acknowledgement on every login and logout (a
// network round trip from master to replica), and logins fail while no
// replica is in sync. It is opt-in for that reason. Keep timeout well under
// the client's read timeout.
func WithWait(b *Store, replicas int, timeout time.Duration) *Store {
	w := *b
	w.wait = &waitPolicy{replicas: replicas, timeout: timeout}
	return &w
}

// pipeliner is what runs a pipeline on one node: a *redis.Client, or any
// non-cluster UniversalClient (single server, Sentinel master).
type pipeliner interface {
	Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error)
}

// node returns what serves key: on Cluster its master's client, so the
// write and WAIT share a connection to the right node.
func (r *Store) node(ctx context.Context, key string) (pipeliner, string, error) {
	if cc, ok := r.c.(*redis.ClusterClient); ok {
		n, err := cc.MasterForKey(ctx, key)
		if err != nil {
			return nil, "", err
		}
		return n, n.Options().Addr, nil
	}
	return r.c, "", nil
}

// runWait runs script and WAIT in one pipeline on the node of keys[0],
// loading the script (EVAL) when the node does not have it cached.
func (r *Store) runWait(ctx context.Context, script *luaScript, keys []string, args []any) (any, error) {
	p, _, err := r.node(ctx, keys[0])
	if err != nil {
		return nil, err
	}
	functions := r.functions(ctx)
	run := func(verb, body string) (*redis.Cmd, *redis.IntCmd, error) {
		var cmd *redis.Cmd
		var wait *redis.IntCmd
		_, err := p.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			c := script.cmd(ctx, verb, body, keys, args)
			_ = pipe.Process(ctx, c)
			cmd = c.Cmd
			wait = r.waitCmd(ctx, pipe)
			return nil
		})
		return cmd, wait, err
	}
	verb, body := "evalsha", script.sha
	if functions {
		verb, body = "fcall", script.fn
	}
	cmd, wait, err := run(verb, body)
	switch {
	case cmd != nil && redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT"):
		// Nothing was written; the WAIT that ran waited for nothing.
		cmd, wait, err = run("eval", script.src)
	case cmd != nil && notLoaded(cmd.Err()):
		if err := r.loadLibrary(ctx); err != nil {
			return nil, fmt.Errorf("function load: %w", err)
		}
		cmd, wait, err = run(verb, body)
	}
	if err != nil {
		return nil, err
	}
	if err := r.checkWait(wait); err != nil {
		return nil, err
	}
	return cmd.Val(), nil
}

// waitCmd queues WAIT on p (Pipeliner lacks the Wait method).
func (r *Store) waitCmd(ctx context.Context, p redis.Pipeliner) *redis.IntCmd {
	cmd := redis.NewIntCmd(ctx, "wait", r.wait.replicas, r.wait.timeout.Milliseconds())
	_ = p.Process(ctx, cmd)
	return cmd
}

func (r *Store) checkWait(wait *redis.IntCmd) error {
	n, err := wait.Result()
	if err != nil {
		return fmt.Errorf("wait: %w", err)
	}
	if n < int64(r.wait.replicas) {
		return fmt.Errorf("wait: %d of %d replicas acknowledged within %v", n, r.wait.replicas, r.wait.timeout)
	}
	return nil
}
