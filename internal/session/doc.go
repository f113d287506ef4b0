// Package session is the session engine's core: the policy of sessions
// shared by many replicas — tokens and their signing (with key rotation),
// idle and absolute expiry, the cookie, the per-user index, and how a
// request's changes are written as one delta — and the Backend contract
// that stores implement. It imports neither a Redis client nor a web
// framework: the stores (redisstore, filestore) and the framework adapters
// (ginsession) are packages of their own, and sessiontest is the contract
// suite every store runs.
//
// A request's session is loaded once (Manager.Load: no store call without a
// validly signed cookie), read from memory, and committed once (Session.Save,
// or the adapter before the response is written): only what changed is
// written, each field as a compare-and-set against the value that was read
// and each counter as an atomic increment, so concurrent requests of one
// session, on any replicas, lose no update. A change to a session that was
// deleted meanwhile fails with ErrGone and never brings it back. A store
// failure is ErrUnavailable, never an empty session.
package session
