package redistest

import (
	"context"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// RoundTrips is a go-redis hook that counts the round trips a client
// makes: each command sent alone and each pipeline (a batch) counts one.
// A new connection's handshake (HELLO, CLIENT SETINFO, AUTH, SELECT) is
// left out, so a count says what the code under test sent. Add it with
// client.AddHook, or per node of a Cluster with OnNewNode.
type RoundTrips struct{ n atomic.Int64 }

// N returns the round trips counted so far.
func (r *RoundTrips) N() int64 { return r.n.Load() }

// Reset starts the count again from zero.
func (r *RoundTrips) Reset() { r.n.Store(0) }

func handshake(cmds ...redis.Cmder) bool {
	for _, c := range cmds {
		if n := c.Name(); n != "hello" && n != "client" && n != "auth" && n != "select" {
			return false
		}
	}
	return true
}

func (r *RoundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *RoundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !handshake(cmd) {
			r.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (r *RoundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !handshake(cmds...) {
			r.n.Add(1)
		}
		return next(ctx, cmds)
	}
}
