package session

import (
	"context"
	"time"
)

// Backend is what the engine needs from a store. A backend only stores and
// fetches: ids, signing, expiry policy and encoding live in Manager.
//
// A session is a flat map of fields to strings (a Record). Fields whose name
// starts with '@' are the engine's metadata; the rest hold JSON values.
// Every method that writes must be atomic for the one session it names.
type Backend interface {
	// Load returns the record stored under key. A missing session is
	// found=false with a nil error, never an error.
	Load(ctx context.Context, key string) (rec Record, found bool, err error)

	// Create stores a new session under key, expiring at expireAt, with the
	// index changes ix. It fails with ErrExists when the key is taken, and
	// writes nothing then.
	Create(ctx context.Context, key string, rec Record, expireAt time.Time, ix IndexOps) error

	// Apply applies d to the session under key, all or nothing. It returns
	// ErrGone when the session does not exist (it never recreates one) and
	// a *ConflictError when a compare-and-set of d fails; the counters'
	// new values come back in the order of d.Incrs.
	Apply(ctx context.Context, key string, d Delta) ([]int64, error)

	// Rename moves the session under from to the new key to, applying d on
	// the way, all or nothing: afterwards from no longer exists. The two
	// keys share a hash slot (the selector's tag). ErrGone when from is
	// missing. ix is applied as for Create.
	Rename(ctx context.Context, from, to string, d Delta, ix IndexOps) ([]int64, error)

	// Delete removes the sessions under keys. Missing keys are not an error.
	Delete(ctx context.Context, keys ...string) error

	// IndexAdd records member (a session's selector) in the per-user index
	// under index, until deadline, and keeps the index bounded: entries
	// whose deadline passed are dropped (at the latest once it holds more
	// than a few) and the index expires with its latest deadline.
	IndexAdd(ctx context.Context, index, member string, deadline time.Time) error
	// IndexRemove drops members from the index. Missing ones are fine.
	IndexRemove(ctx context.Context, index string, members ...string) error
	// IndexList returns the index's entries whose deadline has not passed.
	IndexList(ctx context.Context, index string) ([]IndexEntry, error)
	// LoadMany loads several sessions at once (for listing a user's
	// sessions); missing sessions come back as nil records.
	LoadMany(ctx context.Context, keys []string) ([]Record, error)

	// Ping tells whether the backend answers.
	Ping(ctx context.Context) error
}

// IndexOps are the per-user index changes that go with a session write.
// Where the backend can (one Redis node, one folder) they are applied
// atomically with it. Where it cannot (Redis Cluster: the index is in
// another slot), Add is applied before the session write, so a stored
// session is always in its index and revoke-all finds it, and Remove after
// it, best effort: an entry left behind names a session that no longer
// exists and is pruned at the next listing.
type IndexOps struct {
	AddIndex, AddMember string
	AddDeadline         time.Time
	RemoveIndex         string
	RemoveMember        string
}

// Record is a session as stored: field name to raw value.
type Record map[string]string

// IndexEntry is one session in a user's index.
type IndexEntry struct {
	Member   string
	Deadline time.Time
}
