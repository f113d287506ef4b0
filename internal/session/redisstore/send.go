package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// luaScript is one of the store's scripts: its function in the library
// (see functions.go), and its source and SHA-1 as a script of its own,
// for EVALSHA (with EVAL when the server does not have it cached).
type luaScript struct {
	name, body string
	fn         string // its function's name, set by newLibrary
	src, sha   string
}

func newScript(name, body string) *luaScript {
	src := prelude + luaLib + body
	sum := sha1.Sum([]byte(src))
	return &luaScript{name: name, body: body, src: src, sha: hex.EncodeToString(sum[:])}
}

// writeCmd is a script call that must never be sent twice: go-redis
// retries a command, or a whole pipeline, that failed on a network error,
// and a script Redis ran before the connection broke would run again (an
// increment counted twice). A write whose fate is unknown is an error for
// the caller instead ("we cannot tell whether it went through").
type writeCmd struct{ *redis.Cmd }

func (writeCmd) NoRetry() bool { return true }

// loadCmd is a load in a batch: not retried either, as go-redis would
// retry a whole batch, the writes in it included.
type loadCmd struct{ *redis.MapStringStringCmd }

func (loadCmd) NoRetry() bool { return true }

// eval runs s with keys and args once: batched with the commands of
// concurrent requests (see Store.batch) unless the store sends plain
// commands; as a function of the library, or as a script when this
// Redis user may not load functions. A server that lacks the function or
// the script ran nothing: it gets it, and the call again.
func (r *Store) eval(ctx context.Context, s *luaScript, keys []string, args []any) (any, error) {
	if r.functions(ctx) {
		res, err := r.send(ctx, s.cmd(ctx, "fcall", s.fn, keys, args))
		if !notLoaded(err) {
			return res, err
		}
		if err := r.loadLibrary(ctx); err != nil {
			return nil, fmt.Errorf("function load: %w", err)
		}
		return r.send(ctx, s.cmd(ctx, "fcall", s.fn, keys, args))
	}
	res, err := r.send(ctx, s.cmd(ctx, "evalsha", s.sha, keys, args))
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		res, err = r.send(ctx, s.cmd(ctx, "eval", s.src, keys, args))
	}
	return res, err
}

func (s *luaScript) cmd(ctx context.Context, verb, body string, keys []string, args []any) writeCmd {
	a := make([]any, 0, 3+len(keys)+len(args))
	a = append(a, verb, body, len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	a = append(a, args...)
	return writeCmd{redis.NewCmd(ctx, a...)}
}

// send runs cmd, in the next batch of writes when there is one. Its wait
// is bounded by ctx; a batch that was sent runs even when its caller has
// stopped waiting.
func (r *Store) send(ctx context.Context, cmd writeCmd) (any, error) {
	if r.batch != nil {
		if err := r.batch.Submit(ctx, cmd).WaitContext(ctx); err != nil {
			return nil, err
		}
	} else {
		_ = r.c.Process(ctx, cmd)
	}
	res, err := cmd.Result()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd.Name(), err)
	}
	return res, nil
}
