package session

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Waiting is the Redis backend with WAIT: a login (Create), a regenerate
// (Rename) and a logout or revoke (Delete) are acknowledged only once at
// least Replicas replicas hold the write, so a Sentinel failover that
// promotes one of them cannot lose them. Changes to session data (Apply:
// theme, cart, counters) are not waited for: they stay asynchronous.
//
// Each waited write is one round trip: the script (or UNLINKs) and WAIT
// go in one pipeline on one connection, which is what WAIT needs (it waits
// for the writes of its own connection). When fewer replicas answer within
// Timeout the call fails (the caller answers 503): the write was applied
// on the master but is not known to be safe. For a login that is a login
// to redo; for a regenerate, the old id is gone already.
//
// The price is the replica's acknowledgement on every login and logout
// (a network round trip from master to replica), and logins fail while no
// replica is in sync. It is opt-in for that reason.
type Waiting struct {
	*Redis
	Replicas int
	Timeout  time.Duration
}

// WithWait wraps b: see Waiting. replicas is WAIT's numreplicas (1 with one
// replica), timeout its timeout (keep it well under the Manager's Timeout).
func WithWait(b *Redis, replicas int, timeout time.Duration) *Waiting {
	return &Waiting{Redis: b, Replicas: replicas, Timeout: timeout}
}

var _ Backend = (*Waiting)(nil)

// pipeliner is what runs a pipeline on one node: a *redis.Client, or any
// non-cluster UniversalClient (single server, Sentinel master).
type pipeliner interface {
	Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error)
}

// node returns what serves key: on Cluster its master's client, so the
// write and WAIT share a connection to the right node.
func (w *Waiting) node(ctx context.Context, key string) (pipeliner, string, error) {
	if cc, ok := w.c.(*redis.ClusterClient); ok {
		n, err := cc.MasterForKey(ctx, key)
		if err != nil {
			return nil, "", err
		}
		return n, n.Options().Addr, nil
	}
	return w.c, "", nil
}

// Create implements Backend, waiting for the replicas.
func (w *Waiting) Create(ctx context.Context, key string, rec Record, expireAt time.Time) error {
	args := make([]any, 0, 1+2*len(rec))
	args = append(args, expireAt.UnixMilli())
	for f, v := range rec {
		args = append(args, f, v)
	}
	res, err := w.runWait(ctx, createScript, []string{key}, args)
	if err != nil {
		return fmt.Errorf("redis create: %w", err)
	}
	if n, _ := res.(int64); n == statusExists {
		return ErrExists
	}
	return nil
}

// Rename implements Backend, waiting for the replicas.
func (w *Waiting) Rename(ctx context.Context, from, to string, d Delta) ([]int64, error) {
	var exp int64
	if !d.ExpireAt.IsZero() {
		exp = d.ExpireAt.UnixMilli()
	}
	args := make([]any, 0, 5+3*len(d.Sets)+2*len(d.Dels)+2*len(d.Force)+3*len(d.Incrs))
	args = append(args, exp, len(d.Sets), len(d.Dels), len(d.Force), len(d.Incrs))
	for _, f := range d.Sets {
		args = append(args, f.Field, f.Expected, f.Value)
	}
	for _, f := range d.Dels {
		args = append(args, f.Field, f.Expected)
	}
	for _, f := range d.Force {
		args = append(args, f.Field, f.Value)
	}
	for _, f := range d.Incrs {
		args = append(args, f.Field, f.By, f.Max)
	}
	res, err := w.runWait(ctx, applyScript, []string{from, to}, args)
	if err != nil {
		return nil, fmt.Errorf("redis rename: %w", err)
	}
	list, _ := res.([]any)
	return scriptResult(list)
}

// IndexAdd implements Backend. On one master the index entry is written
// before the session on the same replication stream, so the session's WAIT
// covers it; on Cluster it lives on another node and is waited for itself.
func (w *Waiting) IndexAdd(ctx context.Context, index, member string, deadline time.Time) error {
	if _, ok := w.c.(*redis.ClusterClient); !ok {
		return w.Redis.IndexAdd(ctx, index, member, deadline)
	}
	if _, err := w.runWait(ctx, indexAddScript, []string{index}, []any{member, deadline.UnixMilli()}); err != nil {
		return fmt.Errorf("redis index add: %w", err)
	}
	return nil
}

// Delete implements Backend, waiting for the replicas of every node
// involved (one pipeline per node).
func (w *Waiting) Delete(ctx context.Context, keys ...string) error {
	type group struct {
		p    pipeliner
		keys []string
	}
	var groups []*group
	byNode := map[string]*group{}
	for _, k := range keys {
		p, addr, err := w.node(ctx, k)
		if err != nil {
			return fmt.Errorf("redis delete: %w", err)
		}
		g := byNode[addr]
		if g == nil {
			g = &group{p: p}
			byNode[addr] = g
			groups = append(groups, g)
		}
		g.keys = append(g.keys, k)
	}
	for _, g := range groups {
		var wait *redis.IntCmd
		_, err := g.p.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range g.keys {
				p.Unlink(ctx, k)
			}
			wait = w.wait(ctx, p)
			return nil
		})
		if err == nil {
			err = w.checkWait(wait)
		}
		if err != nil {
			return fmt.Errorf("redis delete: %w", err)
		}
	}
	return nil
}

// runWait runs script and WAIT in one pipeline on the node of keys[0],
// loading the script (EVAL) when the node does not have it cached.
func (w *Waiting) runWait(ctx context.Context, script *redis.Script, keys []string, args []any) (any, error) {
	p, _, err := w.node(ctx, keys[0])
	if err != nil {
		return nil, err
	}
	run := func(eval bool) (*redis.Cmd, *redis.IntCmd, error) {
		var cmd *redis.Cmd
		var wait *redis.IntCmd
		_, err := p.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			if eval {
				cmd = script.Eval(ctx, pipe, keys, args...)
			} else {
				cmd = script.EvalSha(ctx, pipe, keys, args...)
			}
			wait = w.wait(ctx, pipe)
			return nil
		})
		return cmd, wait, err
	}
	cmd, wait, err := run(false)
	if cmd != nil && redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		// Nothing was written; the WAIT that ran waited for nothing.
		cmd, wait, err = run(true)
	}
	if err != nil {
		return nil, err
	}
	if err := w.checkWait(wait); err != nil {
		return nil, err
	}
	return cmd.Val(), nil
}

// wait queues WAIT on p (Pipeliner lacks the Wait method). The client's
// read timeout must exceed w.Timeout.
func (w *Waiting) wait(ctx context.Context, p redis.Pipeliner) *redis.IntCmd {
	cmd := redis.NewIntCmd(ctx, "wait", w.Replicas, w.Timeout.Milliseconds())
	_ = p.Process(ctx, cmd)
	return cmd
}

func (w *Waiting) checkWait(wait *redis.IntCmd) error {
	n, err := wait.Result()
	if err != nil {
		return fmt.Errorf("wait: %w", err)
	}
	if n < int64(w.Replicas) {
		return fmt.Errorf("wait: %d of %d replicas acknowledged within %v", n, w.Replicas, w.Timeout)
	}
	return nil
}
