package redisconn

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// go-redis' ClusterClient learns a new slot map only from a MOVED or ASK
// reply, a READONLY error, or every ClusterStateReloadInterval (60s). When
// a master dies, no node is left to answer MOVED for its slots: the client
// keeps dialling the dead address (connection refused) after the cluster
// has promoted the replica, and the users of that shard get 503 for up to
// a minute (go-redis issue #3979). So every node client gets a hook that
// asks for a new map as soon as a command fails without a Redis reply.
//
// ReloadState is cheap to call often: go-redis runs at most one reload at
// a time (CLUSTER SLOTS from a random known node, skipping the ones that do
// not answer), with 200ms between them while calls keep coming. A reload
// that runs before the promotion finds the old map; the next failure asks
// again. The hook is on the node clients, so it fires at the first failed
// attempt of a command, and the cluster client's own next attempt (after
// its retry backoff) can already go to the new master.

// reloadOnNodeFailure installs the hook on every node client c creates.
// Call it before the first command (nodes are created lazily).
func reloadOnNodeFailure(c *redis.ClusterClient) {
	c.OnNewNode(func(node *redis.Client) {
		node.AddHook(nodeFailureHook{reload: func() { c.ReloadState(context.Background()) }})
	})
}

type nodeFailureHook struct{ reload func() }

func (h nodeFailureHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h nodeFailureHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if nodeMayBeGone(err) {
			h.reload()
		}
		return err
	}
}

func (h nodeFailureHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		failed := nodeMayBeGone(err)
		for _, cmd := range cmds {
			failed = failed || nodeMayBeGone(cmd.Err())
		}
		if failed {
			h.reload()
		}
		return err
	}
}

// nodeMayBeGone tells whether err is a failure to reach a node (refused,
// reset, end of stream, timed out, pool exhausted) rather than the node's
// own reply. A reply (including redis.Nil, MOVED, CLUSTERDOWN) means the
// node is there; a cancelled request or a closed client says nothing about
// the node.
func nodeMayBeGone(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, redis.ErrClosed) {
		return false
	}
	var reply redis.Error
	return !errors.As(err, &reply)
}
