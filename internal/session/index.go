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
// not exist is skipped, not removed (it may be a forward a revoke-all
// must still follow); the index drops it when its deadline passes. Only
// an entry whose session belongs to another user now (a login under
// another name moved it) is removed. Each layout this release reads has
// an index of its own: a listing reads them all.
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
			Current:   current != nil && current.standing == standingStored && current.tok.Selector == l.selector,
		})
	}
	slices.SortStableFunc(out, func(a, b Info) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

type liveSession struct {
	layout   Layout
	selector string
	meta     meta
}

// live returns user's live sessions, of every layout this release reads:
// one index read per layout, and one read of the sessions each lists.
func (m *Manager) live(ctx context.Context, user string) ([]liveSession, error) {
	ctx, cancel := m.ctx(ctx)
	defer cancel()
	var live []liveSession
	for _, l := range Layouts() {
		ix := m.indexOf(l, user)
		sels, err := m.members(ctx, l, ix)
		if err != nil {
			return nil, err
		}
		if len(sels) == 0 {
			continue
		}
		keys := make([]string, len(sels))
		for i, sel := range sels {
			keys[i] = m.sessionKey(l, sel)
		}
		recs, err := m.store(l).LoadMany(ctx, keys)
		if err != nil {
			return nil, storeErr("index load", err)
		}
		var others []string
		for i, rec := range recs {
			md, ok := metaOf(rec)
			switch {
			case rec == nil || !ok:
				// Ended, or not created yet: skipped, left to its deadline.
			case md.user != user:
				others = append(others, sels[i])
			default:
				live = append(live, liveSession{layout: l, selector: sels[i], meta: md})
			}
		}
		if len(others) > 0 {
			if err := m.store(l).IndexRemove(ctx, ix, others...); err != nil {
				m.log.Warn("session: index cleanup", "err", err)
			}
		}
	}
	return live, nil
}

// members returns the valid selectors listed in ix, layout l's index.
func (m *Manager) members(ctx context.Context, l Layout, ix IndexRef) ([]string, error) {
	entries, err := m.store(l).Index(ctx, ix)
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

// Revoke ends the session of user whose public id is id, reading the
// indexes only (not the sessions). It reports whether there was such a
// session.
func (m *Manager) Revoke(ctx context.Context, user, id string) (bool, error) {
	n, err := m.revokeWhere(ctx, user, func(sel string) bool { return PublicID(sel) == id })
	return n > 0, err
}

// RevokeOthers ends every session of user but current's (which may be
// nil or not stored: then all of them) and returns how many it ended. Its
// cost is fixed, whatever their number: per layout, one index read and
// one call ending them all.
func (m *Manager) RevokeOthers(ctx context.Context, user string, current *Session) (int, error) {
	keep := ""
	if current != nil && current.standing == standingStored {
		keep = current.tok.Selector
	}
	return m.revokeWhere(ctx, user, func(sel string) bool { return sel != keep })
}

// RevokeAll ends every session of user and returns how many there were.
// Every session of the user that exists when it starts is ended, a
// session a concurrent login is renaming included (the store follows the
// rename), whichever layout it is stored in.
func (m *Manager) RevokeAll(ctx context.Context, user string) (int, error) {
	return m.revokeWhere(ctx, user, func(string) bool { return true })
}

// revokeWhere ends the sessions of user whose selectors match, in every
// layout: per layout, one index read and, when any match, one call.
func (m *Manager) revokeWhere(ctx context.Context, user string, match func(sel string) bool) (int, error) {
	start := time.Now()
	ctx, cancel := m.ctx(ctx)
	defer cancel()
	total := 0
	for _, l := range Layouts() {
		ix := m.indexOf(l, user)
		sels, err := m.members(ctx, l, ix)
		if err != nil {
			m.observe(OpRevoke, OutcomeError, start)
			return total, err
		}
		var targets []Target
		for _, sel := range sels {
			if match(sel) {
				targets = append(targets, Target{Key: m.sessionKey(l, sel), Member: sel})
			}
		}
		if len(targets) == 0 {
			continue
		}
		n, err := m.store(l).End(ctx, ix, targets...)
		if err != nil {
			m.observe(OpRevoke, outcomeOf(err), start)
			return total, storeErr("revoke", err)
		}
		total += n
	}
	m.observe(OpRevoke, OutcomeOK, start)
	return total, nil
}
