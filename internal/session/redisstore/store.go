// Package redisstore is the session engine's Redis backend, on any
// go-redis UniversalClient: one server, Sentinel or Cluster.
package redisstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/session"
)

// Store keeps each session as one hash (its attributes and the "@"
// metadata field) whose expiry (PEXPIREAT, by the server's clock) is the
// session's end, and each user's index as a field of one of 256 shared
// index hashes (see scripts.go). Every write is one Lua script; on one
// server or a Sentinel master a session write and its index changes are
// one script, atomic and one round trip. On Cluster the index is in another
// slot: index additions run first and removals after, with deadlines that
// carry the tolerated clock skew, so a live session is always listed.
type Store struct {
	c       redis.UniversalClient
	cluster bool         // the index is in another slot: no multi-key scripts
	wait    *waitPolicy  // WithWait: replica acknowledgement of logins and logouts
	checked *atomic.Bool // the server's version was found new enough
	// reads batches the loads of concurrent requests into pipelines (nil:
	// plain commands). A queued command ignores its context and a failed
	// batch is retried whole: harmless for reads, and Load keeps its own
	// deadline by waiting on the result no longer than its context allows.
	reads *redis.AutoPipeliner
}

// Option changes a Store from its defaults.
type Option func(*storeOptions)

type storeOptions struct {
	plainReads bool
}

// PlainReads makes every load a command of its own instead of a batch
// member: batched loads run outside the request's context, so a tracer
// sees them in no request's trace. The service uses it when tracing is on.
func PlainReads() Option { return func(o *storeOptions) { o.plainReads = true } }

// New returns a backend on c. The caller owns c.
func New(c redis.UniversalClient, opts ...Option) *Store {
	var o storeOptions
	for _, opt := range opts {
		opt(&o)
	}
	_, cluster := c.(*redis.ClusterClient)
	s := &Store{c: c, cluster: cluster, checked: new(atomic.Bool)}
	if c != nil && !o.plainReads {
		opts := redis.DefaultAutoPipelineOptions()
		opts.MaxQueuedCommands = maxQueuedReads
		if ap, err := c.AsyncAutoPipelineWithOptions(opts); err == nil {
			s.reads = ap
		}
	}
	return s
}

var _ session.Backend = (*Store)(nil)

// fieldForward is the one field of a forward (see scripts.go).
const fieldForward = "@m"

// Script statuses, the first element of a reply.
const (
	statusOK       = 0
	statusGone     = -1
	statusConflict = -2
	statusLimit    = -3
	statusExists   = -4
	statusMoved    = -5
)

func ms(d time.Duration) int64 { return d.Milliseconds() }

// Index members are selectors (16 base64url characters); the index and
// forwards keep them as their 12 raw bytes.
func rawMember(sel string) string {
	b, err := base64.RawURLEncoding.DecodeString(sel)
	if err != nil || len(b) != 12 {
		return sel // not a selector: never matches a stored one
	}
	return string(b)
}

func selector(raw string) string { return base64.RawURLEncoding.EncodeToString([]byte(raw)) }

func selectors(raws []string) []string {
	for i, r := range raws {
		raws[i] = selector(r)
	}
	return raws
}

func unixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// maxQueuedReads bounds the loads waiting for a batch (a stalled Redis):
// beyond it a load fails at once.
const maxQueuedReads = 10000

// Load implements session.Backend: one HGETALL, batched with the other
// requests' (see Store.reads). A forward (renamed session) is not a
// session.
func (r *Store) Load(ctx context.Context, key string) (session.Record, bool, error) {
	cmd := redis.NewMapStringStringCmd(ctx, "hgetall", key)
	if r.reads != nil {
		if err := r.reads.Submit(ctx, cmd).WaitContext(ctx); err != nil {
			return nil, false, fmt.Errorf("redis load: %w", err)
		}
	} else {
		_ = r.c.Process(ctx, cmd)
	}
	m, err := cmd.Result()
	if err != nil {
		return nil, false, fmt.Errorf("redis load: %w", err)
	}
	if _, ok := m[session.MetaField]; !ok {
		if _, fwd := m[fieldForward]; fwd {
			return nil, false, session.ErrMoved
		}
		return nil, false, nil
	}
	return session.Record(m), true, nil
}

// LoadMany implements session.Backend: one pipeline of HGETALLs (per node
// on Cluster).
func (r *Store) LoadMany(ctx context.Context, keys []string) ([]session.Record, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(keys))
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HGetAll(ctx, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis load many: %w", err)
	}
	out := make([]session.Record, len(keys))
	for i, c := range cmds {
		if m := c.Val(); m[session.MetaField] != "" {
			out[i] = session.Record(m)
		}
	}
	return out, nil
}

// Create implements session.Backend.
func (r *Store) Create(ctx context.Context, key string, rec session.Record, exp session.Expiry, ix session.IndexAdd) (session.Created, error) {
	keys := []string{key}
	args := make([]any, 0, 6+2*len(rec))
	args = append(args, ms(exp.Idle), ms(exp.Lifetime))
	var over []string
	switch {
	case ix.Key == "":
		args = append(args, "", "", 0)
	case r.cluster:
		// The index entry first: a stored session is always listed.
		var err error
		if over, err = r.ixPut(ctx, ix, exp, ""); err != nil {
			return session.Created{}, fmt.Errorf("redis create: %w", err)
		}
		args = append(args, "", "", 0)
	default:
		keys = append(keys, ix.Key)
		args = append(args, ix.Field, rawMember(ix.Member), ix.Max)
	}
	meta := rec[session.MetaField]
	if len(meta) < session.MetaStampLen {
		return session.Created{}, errors.New("redis create: the record has no metadata")
	}
	args = append(args, meta[session.MetaStampLen:])
	for f, v := range rec {
		if f != session.MetaField {
			args = append(args, f, v)
		}
	}
	res, err := r.run(ctx, createScript, keys, args, true)
	if err != nil {
		return session.Created{}, fmt.Errorf("redis create: %w", err)
	}
	list, _ := res.([]any)
	status, now := replyInt(list, 0), replyInt(list, 1)
	switch status {
	case statusOK:
	case statusExists:
		return session.Created{}, session.ErrExists
	default:
		return session.Created{}, fmt.Errorf("redis create: unexpected status %d", status)
	}
	return session.Created{At: time.UnixMilli(now), Over: append(over, selectors(replyStrings(list, 2))...)}, nil
}

// Apply implements session.Backend. Data changes are never waited for.
func (r *Store) Apply(ctx context.Context, key string, d session.Delta) (session.Applied, error) {
	keys := []string{key}
	args := make([]any, 0, 9+deltaArgs(d))
	if t := d.Touch; t != nil {
		args = append(args, 1, ms(t.Idle), unixMs(t.Deadline))
		switch {
		case t.Index.Key == "":
			args = append(args, "", "")
		case r.cluster:
			// Move the entry's deadline first, so it is never earlier
			// than the session's expiry.
			ix := session.IndexAdd{IndexRef: t.Index, Member: t.Member}
			if _, err := r.ixPut(ctx, ix, t.Expiry, ""); err != nil {
				return session.Applied{}, fmt.Errorf("redis touch index: %w", err)
			}
			args = append(args, "", "")
		default:
			keys = append(keys, t.Index.Key)
			args = append(args, t.Index.Field, rawMember(t.Member))
		}
	} else {
		args = append(args, 0, 0, 0, "", "")
	}
	args = encodeDelta(args, d)
	res, err := r.run(ctx, applyScript, keys, args, false)
	if err != nil {
		return session.Applied{}, fmt.Errorf("redis apply: %w", err)
	}
	list, _ := res.([]any)
	if err := statusErr(list); err != nil {
		return session.Applied{}, err
	}
	out := session.Applied{Counters: make([]int64, 0, len(d.Incrs))}
	if now := replyInt(list, 1); now > 0 {
		out.Seen = time.UnixMilli(now)
	}
	for i := 2; i < len(list); i++ {
		out.Counters = append(out.Counters, replyInt(list, i))
	}
	return out, nil
}

// Rename implements session.Backend. from and to share a hash slot; d
// must touch the session.
func (r *Store) Rename(ctx context.Context, from, to string, d session.Delta, ix session.IndexMove) (session.Applied, error) {
	if d.Touch == nil {
		return session.Applied{}, errors.New("redis rename: the delta must touch the session")
	}
	newMember := rawMember(d.Touch.Member)
	keys := []string{from, to}
	args := make([]any, 0, 12+deltaArgs(d))
	args = append(args, ms(d.Touch.Idle), unixMs(d.Touch.Deadline), newMember, ms(session.ForwardTTL))
	var over []string
	if r.cluster {
		if ix.Add.Key != "" {
			ignore := ""
			if ix.Remove == ix.Add.IndexRef {
				ignore = ix.RemoveMember
			}
			var err error
			if over, err = r.ixPut(ctx, ix.Add, d.Touch.Expiry, ignore); err != nil {
				return session.Applied{}, fmt.Errorf("redis rename: %w", err)
			}
		}
		args = append(args, "", 0, "", "")
	} else {
		if ix.Add.Key != "" {
			keys = append(keys, ix.Add.Key)
			args = append(args, ix.Add.Field, ix.Add.Max)
		} else {
			args = append(args, "", 0)
		}
		if ix.Remove.Key != "" {
			keys = append(keys, ix.Remove.Key)
			args = append(args, ix.Remove.Field, rawMember(ix.RemoveMember))
		} else {
			args = append(args, "", "")
		}
	}
	args = encodeDelta(args, d)
	res, err := r.run(ctx, renameScript, keys, args, true)
	if err != nil {
		return session.Applied{}, fmt.Errorf("redis rename: %w", err)
	}
	list, _ := res.([]any)
	if err := statusErr(list); err != nil {
		return session.Applied{}, err
	}
	out := session.Applied{Seen: time.UnixMilli(replyInt(list, 1))}
	n := int(replyInt(list, 2))
	for i := 3; i < 3+n && i < len(list); i++ {
		out.Counters = append(out.Counters, replyInt(list, i))
	}
	out.Over = append(over, selectors(replyStrings(list, 3+n))...)
	if r.cluster && ix.Remove.Key != "" {
		// Best effort: the session write has happened; an entry left
		// behind names a forward, and ends at its deadline.
		_ = r.IndexRemove(ctx, ix.Remove, ix.RemoveMember)
	}
	return out, nil
}

// End implements session.Backend. On one node it is one script (index
// included); on Cluster one script per slot, then the index.
func (r *Store) End(ctx context.Context, ix session.IndexRef, targets ...session.Target) (int, error) {
	if len(targets) == 0 {
		return 0, nil
	}
	if !r.cluster {
		ended, _, err := r.end(ctx, ix, targets)
		return ended, err
	}
	bySlot := map[int][]session.Target{}
	var order []int
	for _, t := range targets {
		s := keySlot(t.Key)
		if _, ok := bySlot[s]; !ok {
			order = append(order, s)
		}
		bySlot[s] = append(bySlot[s], t)
	}
	total := 0
	var removed []string
	for _, s := range order {
		n, rm, err := r.end(ctx, session.IndexRef{}, bySlot[s])
		if err != nil {
			return total, err
		}
		total += n
		removed = append(removed, rm...)
	}
	if ix.Key != "" && len(removed) > 0 {
		if err := r.ixDel(ctx, ix, removed); err != nil {
			// The sessions have ended; their entries end at their deadline.
			return total, nil
		}
	}
	return total, nil
}

func (r *Store) end(ctx context.Context, ix session.IndexRef, targets []session.Target) (int, []string, error) {
	keys := make([]string, 0, len(targets)+1)
	args := make([]any, 0, len(targets)+2)
	if ix.Key != "" {
		keys = append(keys, ix.Key)
		args = append(args, 1, ix.Field)
	} else {
		args = append(args, 0, "")
	}
	for _, t := range targets {
		keys = append(keys, t.Key)
		args = append(args, rawMember(t.Member))
	}
	res, err := r.run(ctx, endScript, keys, args, true)
	if err != nil {
		return 0, nil, fmt.Errorf("redis end: %w", err)
	}
	list, _ := res.([]any)
	return int(replyInt(list, 0)), replyStrings(list, 1), nil
}

// Ping implements session.Backend. The first time the server answers, its
// version is checked too: a server older than MinVersion is never ready.
func (r *Store) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	if !r.checked.Load() {
		if err := CheckVersion(ctx, r.c); err != nil {
			return err
		}
		r.checked.Store(true)
	}
	return nil
}

// run runs a script; with waited and WithWait, in one pipeline with WAIT.
func (r *Store) run(ctx context.Context, s *redis.Script, keys []string, args []any, waited bool) (any, error) {
	if waited && r.wait != nil {
		return r.runWait(ctx, s, keys, args)
	}
	return s.Run(ctx, r.c, keys, args...).Result()
}
