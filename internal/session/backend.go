package session

import (
	"context"
	"time"
)

// Backend is what the engine needs from a store. A backend only stores and
// fetches: ids, signing, expiry policy, the per-user index's rules and the
// encoding of values live in the Manager. Every store runs the contract
// suite in package sessiontest against a real instance of itself.
//
// A session is a flat map of fields to strings (a Record). MetaField holds
// the engine's metadata (see meta.go); it starts with two 6-byte stamps,
// created and last seen, in unix milliseconds, which the store writes
// with its own clock (Create stamps both, a Touch the second): one clock,
// the store's, decides when sessions expire, whatever the replicas'
// clocks say. The rest of MetaField is opaque to stores, and so are the
// fields a store does not know: it keeps them as they are.
//
// A backend serves one Layout at a time (ForLayout gives the others): the
// key names come from the Manager, the formats of index values and
// forwards from the layout.
//
// Every method that writes is atomic for the session it names; where a
// write also changes a user's index, it is atomic with it when the store
// can do that (one Redis node, one folder). Where it cannot (Redis
// Cluster, whose index lives in another slot), a new entry is added only
// after its session was written (a session whose write failed is never
// listed, and its cookie never reaches anyone), a deadline moves before the
// session's expiry does and never earlier than it, and removals come after
// the session write: a session whose cookie was handed out is always in
// its index, so listing and revoke-all always find it.
type Backend interface {
	// Load returns the record of the live session under key. A missing or
	// expired session is found=false with a nil error, never an error; a
	// forward (a session renamed less than ForwardTTL ago) is found=false
	// with ErrMoved.
	Load(ctx context.Context, key string) (rec Record, found bool, err error)

	// LoadMany loads several sessions at once (listing a user's sessions);
	// missing ones come back as nil records.
	LoadMany(ctx context.Context, keys []string) ([]Record, error)

	// Create stores rec as a new session under key, stamping its created
	// and last-seen times, expiring at exp.At(now), and adds it to ix (when
	// ix.Key is set) with the same deadline. It fails with ErrExists when
	// the key is taken, and writes nothing then.
	Create(ctx context.Context, key string, rec Record, exp Expiry, ix IndexAdd) (Created, error)

	// Apply applies d to the session under key, all or nothing. It returns
	// ErrGone when the session does not exist (it never recreates one) and
	// a *ConflictError when a compare-and-set of d fails. When key holds a
	// forward (a login of the same browser renamed the session after this
	// request read it), d goes to the session the forward names, without
	// its touch (the rename touched it), and Applied.Moved is set.
	Apply(ctx context.Context, key string, d Delta) (Applied, error)

	// Rename moves the session under from to the new key to, applying d on
	// the way, all or nothing: afterwards from no longer names a session,
	// but holds a forward to to for a while (ForwardTTL), which End follows
	// and a concurrent Rename of from reports as ErrMoved. The two keys
	// share a hash slot (the selector's tag). ErrGone when from is missing.
	// ix moves the index entry (new member added, old one removed).
	Rename(ctx context.Context, from, to string, d Delta, ix IndexMove) (Applied, error)

	// End deletes the sessions of targets, following forwards (a rename
	// that raced with this call ends too), and removes their entries from
	// ix. Missing sessions are not an error. It reports how many live
	// sessions it ended.
	End(ctx context.Context, ix IndexRef, targets ...Target) (int, error)

	// Index returns the entries of a user's index: at most the IndexAdd Max
	// of the last write, plus entries whose deadline passed since then.
	Index(ctx context.Context, ix IndexRef) ([]IndexEntry, error)

	// IndexRemove drops members from an index. Missing ones are fine.
	IndexRemove(ctx context.Context, ix IndexRef, members ...string) error

	// Ping tells whether the backend answers (readiness).
	Ping(ctx context.Context) error

	// Layout is the layout whose records this backend writes.
	Layout() Layout

	// ForLayout returns the same store (its connections, its locks)
	// reading and writing the records of layout l.
	ForLayout(l Layout) Backend
}

// MaxForwardHops is how many forwards a store follows from one key: each
// is a login of the same browser within ForwardTTL of the one before, so
// a real chain is one or two long; the bound keeps a script's work
// bounded whatever is stored.
const MaxForwardHops = 5

// ForwardTTL is how long a renamed session's old key forwards to its new
// one: longer than any call that read the old key before the rename can
// take to act on it.
const ForwardTTL = 30 * time.Second

// Record is a session as stored: field name to raw value.
type Record map[string]string

// Expiry is when a session ends: Idle after its last touch, and at the
// latest at Deadline (for a new session: Lifetime after its creation).
type Expiry struct {
	Idle     time.Duration
	Deadline time.Time
	Lifetime time.Duration // Create only: Deadline is now + Lifetime
	// Skew is how far apart the clocks of a store's nodes may be: a store
	// that writes a session's index entry on another node than the session
	// (Redis Cluster) adds it to the entry's deadline, so the entry never
	// ends before its session.
	Skew time.Duration
}

// At is the session's expiry when touched at now.
func (e Expiry) At(now time.Time) time.Time {
	end := e.Deadline
	if end.IsZero() {
		end = now.Add(e.Lifetime)
	}
	if idle := now.Add(e.Idle); idle.Before(end) {
		return idle
	}
	return end
}

// IndexRef names one user's index: a field of an index map (a few users
// share a map; stores may keep it however they like).
type IndexRef struct {
	Key, Field string
}

// IndexAdd adds Member (a session's selector) to an index, with the
// session's expiry as its deadline. Entries past their deadline are pruned
// on the way. The entries beyond Max (the ones closest to their deadline)
// are ended by the store in the same write when it can reach their
// sessions there (Sessions names their keys); otherwise they are reported
// in Over for the caller to end, and stay listed until it has.
type IndexAdd struct {
	IndexRef
	Member   string
	Max      int
	Sessions SessionKeys
}

// SessionKeys is how the key of a session is made from its selector: the
// Prefix, the selector's first TagChars characters in braces (its Redis
// Cluster hash tag, which a regenerate keeps), then the rest.
type SessionKeys struct {
	Prefix string
}

// TagChars is how many characters of a selector make its key's hash tag.
const TagChars = tagChars

// Of is the key of the session whose selector is sel.
func (k SessionKeys) Of(sel string) string {
	return k.Prefix + "{" + sel[:tagChars] + "}" + sel[tagChars:]
}

// IndexMove is a regenerate's index change: Add the new member (to the
// session's new owner's index), then remove RemoveMember from Remove.
type IndexMove struct {
	Add          IndexAdd
	Remove       IndexRef
	RemoveMember string
}

// IndexEntry is one session in a user's index.
type IndexEntry struct {
	Member   string
	Deadline time.Time // never before the session's expiry
}

// Target is one session to end: its key, and its member in the index.
type Target struct {
	Key, Member string
}

// Created is the result of a Create: the store's stamp, and the index
// members beyond its maximum (see IndexAdd).
type Created struct {
	At   time.Time
	Over []string
}

// Applied is the result of an Apply or Rename: the counters' new values
// in the order of Delta.Incrs, the store's last-seen stamp when the delta
// touched the session, index members beyond the maximum, and whether the
// delta went to the session a forward named (Apply).
type Applied struct {
	Counters []int64
	Seen     time.Time
	Over     []string
	Moved    bool
}
