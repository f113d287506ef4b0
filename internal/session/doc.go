// Package session is the session engine's core: the policy of sessions
// shared by many replicas — tokens and their signing (with key rotation),
// idle and absolute expiry, the cookie, the per-user index and its bound,
// and how a request's changes are written as one delta — and the Backend
// contract that stores implement. It imports neither a Redis client nor a
// web framework: the stores (redisstore, filestore) and the framework
// adapter (ginsession) are packages of their own, and sessiontest is the
// contract suite every store runs.
//
// A request's session is loaded once (Manager.Load: no store call without a
// validly signed cookie), read from memory, and committed once (Session.Save,
// or the adapter before the response is written). The engine promises, on
// every store and topology:
//
//   - No lost updates: each field is written as a compare-and-set against
//     the value read, each counter as an atomic increment (exact up to
//     MaxCounter); a conflict is ErrConflict, for the caller to re-read
//     (Session.Reload) and re-apply.
//   - An ended session stays ended: a change racing a logout or revoke is
//     ErrGone and never recreates it; Reload of an ended session is ErrGone.
//   - Logout and revoke follow a concurrent rename (login) of the session,
//     so the new id ends too; a double-submitted login answers ErrMoved and
//     leaves the cookie to the request that renamed it; a change that read
//     the session before the rename is applied to the renamed session.
//   - A listing never hides a session: index entries go only with their
//     session or their deadline. At most Config.MaxPerUser live sessions
//     per user; listing and revoking cost is bounded by it.
//   - The store's clock decides expiry; a replica refuses a session by its
//     own clock only past Config.ClockSkew, and then deletes nothing.
//   - A cookie this replica cannot verify is no session, but it is not
//     deleted (other replicas may hold its key).
//   - A store failure is ErrUnavailable, never an empty session.
//   - Releases run side by side: storage is versioned by Layout, every
//     layout this release knows is read and one is written; fields and
//     metadata bytes a newer release added are kept; a record or cookie
//     this release cannot read is no session, and its cookie is kept.
//
// docs/architecture.md explains the storage and each guarantee.
package session
