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
// slot: a new entry is added after the session's write, a touch moves the
// deadline before, and removals come after, with deadlines that carry the
// tolerated clock skew, so a session whose cookie was handed out is
// always listed.
type Store struct {
	c       redis.UniversalClient
	cluster bool         // the index is in another slot: no multi-key scripts
	wait    *waitPolicy  // WithWait: replica acknowledgement of logins and logouts
	checked *atomic.Bool // the server's version was found new enough
	calls   *callsState  // functions or scripts (see functions.go)
	// batch sends the loads and writes of concurrent requests together, in
	// pipelines (nil: plain commands), reads and writes in one stream so
	// that a request's read and its write each share a round trip with
	// others'. A queued command ignores its context, so a call waits for
	// its result no longer than its own context allows. Nothing in a batch
	// is sent twice (see writeCmd): a batch that fails is an error for
	// each of its callers (503), a read as well as a write.
	batch *redis.AutoPipeliner
	// layout is the layout of the records this Store reads and writes;
	// marker starts its index values and forwards.
	layout session.Layout
	marker string
	// foreign is told of what the store met under its names that it did
	// not write (see OnForeign).
	foreign func(record, reason string)
}

// Option changes a Store from its defaults.
type Option func(*storeOptions)

type storeOptions struct {
	plain   bool
	foreign func(record, reason string)
}

// PlainCommands makes every load and every write a command of its own
// instead of a batch member: batched commands run outside the request's
// context, so a tracer sees them in no request's trace. The service uses
// it when tracing is on.
func PlainCommands() Option { return func(o *storeOptions) { o.plain = true } }

// OnForeign has fn told of every key of another type under one of the
// store's names, and every record not in its layout's format: record is
// "session", "index" or "forward", reason "type" or "format". The store
// treats them as absent (an index key of another type is replaced when it
// is written), so they never fail a request; operators count them, since
// one shows a writer that does not share this release's layouts.
func OnForeign(fn func(record, reason string)) Option {
	return func(o *storeOptions) { o.foreign = fn }
}

// New returns a backend on c, reading and writing layout 1 (see
// ForLayout). The caller owns c.
func New(c redis.UniversalClient, opts ...Option) *Store {
	var o storeOptions
	for _, opt := range opts {
		opt(&o)
	}
	_, cluster := c.(*redis.ClusterClient)
	s := &Store{c: c, cluster: cluster, checked: new(atomic.Bool), calls: new(callsState), layout: session.Layout1, foreign: o.foreign}
	if s.foreign == nil {
		s.foreign = func(string, string) {}
	}
	if c != nil && !o.plain {
		s.batch = batches(c)
	}
	return s
}

// batches is an autopipeliner on c: the commands of concurrent requests
// share round trips.
func batches(c redis.UniversalClient) *redis.AutoPipeliner {
	opts := redis.DefaultAutoPipelineOptions()
	opts.MaxQueuedCommands = maxQueuedCommands
	ap, err := c.AsyncAutoPipelineWithOptions(opts)
	if err != nil {
		return nil // plain commands then
	}
	return ap
}

var _ session.Backend = (*Store)(nil)

// Layout implements session.Backend.
func (r *Store) Layout() session.Layout { return r.layout }

// ForLayout implements session.Backend: a copy sharing r's client, batches
// and version check.
func (r *Store) ForLayout(l session.Layout) session.Backend { return r.WithLayout(l) }

// WithLayout is ForLayout, as a *Store.
func (r *Store) WithLayout(l session.Layout) *Store {
	c := *r
	c.layout, c.marker = l, l.Marker()
	return &c
}

// fieldForward is the one field of a forward (see scripts.go).
const fieldForward = "@m"

// Script statuses, the first element of a reply (the scripts' prelude
// names them the same).
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

// maxQueuedCommands bounds the commands waiting for a batch (a stalled
// Redis): beyond it a call fails at once.
const maxQueuedCommands = 10000

// wrongType tells whether err is Redis' answer to a command on a key of
// another type.
func wrongType(err error) bool { return redis.HasErrorPrefix(err, "WRONGTYPE") }

// Load implements session.Backend: one HGETALL, batched with the other
// requests' (see Store.batch). A forward (renamed session) is not a
// session.
func (r *Store) Load(ctx context.Context, key string) (session.Record, bool, error) {
	cmd := redis.NewMapStringStringCmd(ctx, "hgetall", key)
	if r.batch != nil {
		if err := r.batch.Submit(ctx, loadCmd{cmd}).WaitContext(ctx); err != nil {
			return nil, false, fmt.Errorf("redis load: %w", err)
		}
	} else {
		_ = r.c.Process(ctx, cmd)
	}
	m, err := cmd.Result()
	if wrongType(err) {
		r.foreign("session", "type")
		return nil, false, nil
	}
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
	_, _ = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HGetAll(ctx, k)
		}
		return nil
	})
	out := make([]session.Record, len(keys))
	for i, c := range cmds {
		m, err := c.Result()
		switch {
		case wrongType(err):
			r.foreign("session", "type")
		case err != nil:
			return nil, fmt.Errorf("redis load many: %w", err)
		case m[session.MetaField] != "":
			out[i] = session.Record(m)
		}
	}
	return out, nil
}

// Create implements session.Backend. On Cluster the index entry is
// added after the session is stored: a session whose write failed is
// never listed.
func (r *Store) Create(ctx context.Context, key string, rec session.Record, exp session.Expiry, ix session.IndexAdd) (session.Created, error) {
	meta := rec[session.MetaField]
	if len(meta) < session.MetaStampLen {
		return session.Created{}, errors.New("redis create: the record has no metadata")
	}
	keys := []string{key}
	args := make([]any, 0, 7+2*len(rec))
	args = append(args, r.marker, ms(exp.Idle), ms(exp.Lifetime))
	if ix.Key == "" || r.cluster {
		args = append(args, "", "", 0, "")
	} else {
		keys = append(keys, ix.Key)
		args = append(args, ix.Field, rawMember(ix.Member), ix.Max, ix.Sessions.Prefix)
	}
	args = append(args, meta[session.MetaStampLen:])
	for f, v := range rec {
		if f != session.MetaField {
			args = append(args, f, v)
		}
	}
	list, err := r.script(ctx, createScript, keys, args, true)
	if err != nil {
		return session.Created{}, fmt.Errorf("redis create: %w", err)
	}
	if err := statusErr(list); err != nil {
		return session.Created{}, err
	}
	out := session.Created{At: time.UnixMilli(replyInt(list, 2)), Over: selectors(replyStrings(list, 3))}
	if ix.Key != "" && r.cluster {
		if out.Over, err = r.ixPut(ctx, ix, exp, "", false); err != nil {
			// The session is stored, but its cookie goes to nobody: it
			// idles out unlisted.
			return session.Created{}, fmt.Errorf("redis create: %w", err)
		}
	}
	return out, nil
}

// Apply implements session.Backend. Data changes are never waited for.
func (r *Store) Apply(ctx context.Context, key string, d session.Delta) (session.Applied, error) {
	keys := []string{key}
	args := make([]any, 0, 6+deltaArgs(d))
	args = append(args, r.marker)
	if t := d.Touch; t != nil {
		args = append(args, 1, ms(t.Idle), unixMs(t.Deadline))
		switch {
		case t.Index.Key == "":
			args = append(args, "", "")
		case r.cluster:
			// Move the entry's deadline first, so it is never earlier
			// than the session's expiry (an entry that is not there is
			// not added: the session may have ended).
			ix := session.IndexAdd{IndexRef: t.Index, Member: t.Member}
			if _, err := r.ixPut(ctx, ix, t.Expiry, "", true); err != nil {
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
	list, err := r.script(ctx, applyScript, keys, args, false)
	if err != nil {
		return session.Applied{}, fmt.Errorf("redis apply: %w", err)
	}
	if err := statusErr(list); err != nil {
		return session.Applied{}, err
	}
	out := session.Applied{Counters: make([]int64, 0, len(d.Incrs)), Moved: replyInt(list, 3) == 1}
	if now := replyInt(list, 2); now > 0 {
		out.Seen = time.UnixMilli(now)
	}
	for i := 4; i < len(list); i++ {
		out.Counters = append(out.Counters, replyInt(list, i))
	}
	return out, nil
}

// Rename implements session.Backend. from and to share a hash slot; d
// must touch the session. On Cluster the index changes after the rename:
// a rename that did not happen (a double click's loser) leaves nothing in
// the index.
func (r *Store) Rename(ctx context.Context, from, to string, d session.Delta, ix session.IndexMove) (session.Applied, error) {
	if d.Touch == nil {
		return session.Applied{}, errors.New("redis rename: the delta must touch the session")
	}
	keys := []string{from, to}
	args := make([]any, 0, 10+deltaArgs(d))
	args = append(args, r.marker, ms(d.Touch.Idle), unixMs(d.Touch.Deadline), rawMember(d.Touch.Member), ms(session.ForwardTTL))
	switch {
	case r.cluster:
		args = append(args, "", 0, "", "", "")
	default:
		if ix.Add.Key != "" {
			keys = append(keys, ix.Add.Key)
			args = append(args, ix.Add.Field, ix.Add.Max, ix.Add.Sessions.Prefix)
		} else {
			args = append(args, "", 0, "")
		}
		if ix.Remove.Key != "" {
			keys = append(keys, ix.Remove.Key)
			args = append(args, ix.Remove.Field, rawMember(ix.RemoveMember))
		} else {
			args = append(args, "", "")
		}
	}
	args = encodeDelta(args, d)
	list, err := r.script(ctx, renameScript, keys, args, true)
	if err != nil {
		return session.Applied{}, fmt.Errorf("redis rename: %w", err)
	}
	if err := statusErr(list); err != nil {
		return session.Applied{}, err
	}
	out := session.Applied{Seen: time.UnixMilli(replyInt(list, 2))}
	n := int(replyInt(list, 3))
	for i := 4; i < 4+n && i < len(list); i++ {
		out.Counters = append(out.Counters, replyInt(list, i))
	}
	out.Over = selectors(replyStrings(list, 4+n))
	if r.cluster {
		if out.Over, err = r.clusterIndexMove(ctx, ix, d.Touch.Expiry); err != nil {
			// The session was renamed, but its new cookie goes to nobody
			// (the caller answers 503): it idles out unlisted; the old
			// entry names the forward, which revoke-all follows.
			return session.Applied{}, fmt.Errorf("redis rename: %w", err)
		}
	}
	return out, nil
}

// clusterIndexMove is a rename's index change on Cluster, after the
// rename: the new entry added (the old one dropped in the same write when
// it is the same user's), then the old one removed from another user's
// index. It returns the members beyond the maximum.
func (r *Store) clusterIndexMove(ctx context.Context, ix session.IndexMove, exp session.Expiry) ([]string, error) {
	var over []string
	removed := ix.Remove.Key == ""
	if ix.Add.Key != "" {
		drop := ""
		if ix.Remove == ix.Add.IndexRef {
			drop, removed = ix.RemoveMember, true
		}
		var err error
		if over, err = r.ixPut(ctx, ix.Add, exp, drop, false); err != nil {
			return nil, err
		}
	}
	if !removed {
		// Best effort: an entry left behind names a forward, and ends at
		// its deadline.
		_ = r.IndexRemove(ctx, ix.Remove, ix.RemoveMember)
	}
	return over, nil
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
	args := make([]any, 0, len(targets)+3)
	args = append(args, r.marker)
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
	list, err := r.script(ctx, endScript, keys, args, true)
	if err != nil {
		return 0, nil, fmt.Errorf("redis end: %w", err)
	}
	return int(replyInt(list, 2)), replyStrings(list, 3), nil
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
	r.functions(ctx) // the library loaded before the first write needs it
	return nil
}

// script runs a script (with waited and WithWait, in one pipeline with
// WAIT) and returns its reply, having reported what it met that was
// foreign (the reply's second element).
func (r *Store) script(ctx context.Context, s *luaScript, keys []string, args []any, waited bool) ([]any, error) {
	var res any
	var err error
	if waited && r.wait != nil {
		res, err = r.runWait(ctx, s, keys, args)
	} else {
		res, err = r.eval(ctx, s, keys, args)
	}
	if err != nil {
		return nil, err
	}
	list, ok := res.([]any)
	if !ok || len(list) < 2 {
		return nil, fmt.Errorf("unexpected script reply %v", res)
	}
	if codes, _ := list[1].(string); codes != "" {
		r.reportForeign(codes)
	}
	return list, nil
}
