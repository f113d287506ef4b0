package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// The scripts run as Redis Functions: one library holding all of them is
// loaded into each server once (FUNCTION LOAD; it is replicated and
// persisted with the data), and a call (FCALL) then runs its function
// only. As EVALSHA scripts, every call first runs the shared code before
// the script (the statuses, the helpers): a few microseconds of Redis'
// time per write, the one resource every replica shares.
//
// The library's name carries a hash of its code, so two releases side by
// side each call their own. A server that lacks it (restarted without
// persistence, a new Cluster node) answers "Function not found", which
// ran nothing: the library is loaded and the call sent again. A Redis
// user not allowed FUNCTION LOAD (an ACL without @scripting's FUNCTION)
// makes the store use EVALSHA instead, for good.

// funcLibrary is the store's scripts as a Functions library.
type funcLibrary struct {
	name string // sessiond_<hash>
	src  string // what FUNCTION LOAD gets
}

// newLibrary makes the library of ss and names each script's function.
func newLibrary(ss []*luaScript) *funcLibrary {
	code := prelude + luaLib
	for _, s := range ss {
		code += s.name + s.body
	}
	sum := sha1.Sum([]byte(code))
	name := "sessiond_" + hex.EncodeToString(sum[:6])
	var b strings.Builder
	fmt.Fprintf(&b, "#!lua name=%s\n%s%s", name, prelude, luaLib)
	for _, s := range ss {
		s.fn = name + "_" + s.name
		fmt.Fprintf(&b, "\nredis.register_function('%s', function(KEYS, ARGV)\n%s\nend)\n", s.fn, s.body)
	}
	return &funcLibrary{name: name, src: b.String()}
}

// How the store calls its scripts (Store.calls).
const (
	callsUnknown   int32 = iota // the library was not loaded yet
	callsFunctions              // FCALL
	callsScripts                // EVALSHA: this Redis user may not load functions
)

// functions tells whether calls go to the library, loading it the first
// time. An error other than a refusal (Redis unreachable) leaves the
// question for the next call, which then uses EVALSHA.
func (r *Store) functions(ctx context.Context) bool {
	switch r.calls.Load() {
	case callsFunctions:
		return true
	case callsScripts:
		return false
	}
	err := r.loadLibrary(ctx)
	switch {
	case err == nil:
		r.calls.Store(callsFunctions)
		return true
	case refused(err):
		r.calls.Store(callsScripts)
	}
	return false
}

// loadLibrary loads the library into every master that serves the store.
func (r *Store) loadLibrary(ctx context.Context) error {
	load := func(ctx context.Context, c redis.UniversalClient) error {
		err := c.FunctionLoad(ctx, library.src).Err()
		if err != nil && strings.Contains(err.Error(), "already exists") {
			return nil
		}
		return err
	}
	if cc, ok := r.c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return load(ctx, n) })
	}
	return load(ctx, r.c)
}

// refused tells whether err says this Redis user may not load functions.
func refused(err error) bool {
	return redis.HasErrorPrefix(err, "NOPERM") || strings.Contains(err.Error(), "unknown command")
}

// notLoaded tells whether err is a server's answer that it lacks the
// function called (nothing ran).
func notLoaded(err error) bool {
	return err != nil && strings.Contains(err.Error(), "Function not found")
}

// callsState is shared by a Store and its copies (ForLayout, WithWait).
type callsState = atomic.Int32
