package session

import (
	"context"
	"slices"
	"time"
)

// Info describes one session of a user, for listing.
type Info struct {
	ID        string    `json:"id"` // public id, not the cookie value
	Device    string    `json:"device"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
	ExpiresAt time.Time `json:"expires_at"`
	Current   bool      `json:"current"`
}

// List returns the live sessions of user, oldest first, marking current's.
// It costs one index read and one read per listed session, at most
// MaxPerUser plus those that ended since the index was last written: a
// bounded cost whatever the history of the name.
//
// A listing never makes a session invisible: an entry whose session does
// not exist is skipped, not removed (its session may be being created
// right now, on a Cluster where the index is written first); the index
// drops it when its deadline passes. Only an entry whose session belongs
// to another user now (a login under another name moved it) is removed.
func (m *Manager) List(ctx context.Context, user string, current *Session) ([]Info, error) {
	start := time.Now()
	live, err := m.live(ctx, user)
	m.observe(OpList, outcomeOf(err), start)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(live))
	for _, l := range live {
		out = append(out, Info{
			ID:        PublicID(l.selector),
			Device:    l.meta.device.label(),
			CreatedAt: l.meta.created,
			LastSeen:  l.meta.seen,
			ExpiresAt: m.expiry(l.meta).At(l.meta.seen),
			Current:   current != nil && current.stored && current.tok.Selector == l.selector,
		})
	}
	slices.SortStableFunc(out, func(a, b Info) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

type liveSession struct {
	selector string
	meta     meta
}

func (m *Manager) live(ctx context.Context, user string) ([]liveSession, error) {
	ctx, cancel := m.ctx(ctx)
	defer cancel()
	ix := m.Index(user)
	sels, err := m.members(ctx, ix)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(sels))
	for i, sel := range sels {
		keys[i] = m.SessionKey(sel)
	}
	recs, err := m.store.LoadMany(ctx, keys)
	if err != nil {
		return nil, storeErr("index load", err)
	}
	var live []liveSession
	var others []string
	for i, rec := range recs {
		md, ok := metaOf(rec)
		switch {
		case rec == nil || !ok:
			// Ended, or not created yet: skipped, left to its deadline.
		case md.user != user:
			others = append(others, sels[i])
		default:
			live = append(live, liveSession{selector: sels[i], meta: md})
		}
	}
	if len(others) > 0 {
		if err := m.store.IndexRemove(ctx, ix, others...); err != nil {
			m.log.Warn("session: index cleanup", "err", err)
		}
	}
	return live, nil
}

// members returns the valid selectors listed in ix.
func (m *Manager) members(ctx context.Context, ix IndexRef) ([]string, error) {
	entries, err := m.store.Index(ctx, ix)
	if err != nil {
		return nil, storeErr("index list", err)
	}
	sels := make([]string, 0, len(entries))
	for _, e := range entries {
		if validSelector(e.Member) {
			sels = append(sels, e.Member)
		}
	}
	return sels, nil
}

// Revoke ends the session of user whose public id is id, reading the index
// only (not the sessions). It reports whether there was such a session.
func (m *Manager) Revoke(ctx context.Context, user, id string) (bool, error) {
	start := time.Now()
	ctx, cancel := m.ctx(ctx)
	defer cancel()
	ix := m.Index(user)
	sels, err := m.members(ctx, ix)
	if err != nil {
		m.observe(OpRevoke, OutcomeError, start)
		return false, err
	}
	for _, sel := range sels {
		if PublicID(sel) != id {
			continue
		}
		n, err := m.store.End(ctx, ix, Target{Key: m.SessionKey(sel), Member: sel})
		m.observe(OpRevoke, outcomeOf(err), start)
		if err != nil {
			return false, storeErr("revoke", err)
		}
		return n > 0, nil
	}
	m.observe(OpRevoke, OutcomeMissing, start)
	return false, nil
}

// RevokeAll ends every session of user and returns how many there were.
// Every session of the user that exists when it starts is ended, a
// session a concurrent login is renaming included (the store follows the
// rename).
func (m *Manager) RevokeAll(ctx context.Context, user string) (int, error) {
	start := time.Now()
	ctx, cancel := m.ctx(ctx)
	defer cancel()
	ix := m.Index(user)
	sels, err := m.members(ctx, ix)
	if err != nil {
		m.observe(OpRevoke, OutcomeError, start)
		return 0, err
	}
	targets := make([]Target, len(sels))
	for i, sel := range sels {
		targets[i] = Target{Key: m.SessionKey(sel), Member: sel}
	}
	n, err := m.store.End(ctx, ix, targets...)
	m.observe(OpRevoke, outcomeOf(err), start)
	if err != nil {
		return 0, storeErr("revoke", err)
	}
	return n, nil
}
