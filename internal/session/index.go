package session

import (
	"context"
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
// Index entries whose session is gone (logout, idle expiry, revoke) or not
// the user's are pruned on the way, so the index heals itself without
// keyspace notifications or scans.
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
			Device:    l.rec[fieldDevice],
			CreatedAt: msTime(l.rec[fieldCreated]),
			LastSeen:  msTime(l.rec[fieldSeen]),
			ExpiresAt: m.expiresAt(msTime(l.rec[fieldCreated]), msTime(l.rec[fieldSeen])),
			Current:   current != nil && current.stored && current.tok.Selector == l.selector,
		})
	}
	return out, nil
}

type liveSession struct {
	selector string
	rec      Record
}

func (m *Manager) live(ctx context.Context, user string) ([]liveSession, error) {
	ctx, cancel := m.ctx(ctx)
	defer cancel()
	index := m.IndexKey(user)
	entries, err := m.store.IndexList(ctx, index)
	if err != nil {
		return nil, storeErr("index list", err)
	}
	keys := make([]string, 0, len(entries))
	sels := make([]string, 0, len(entries))
	var stale []string
	for _, e := range entries {
		if !validSelector(e.Member) {
			stale = append(stale, e.Member)
			continue
		}
		sels = append(sels, e.Member)
		keys = append(keys, m.SessionKey(e.Member))
	}
	recs, err := m.store.LoadMany(ctx, keys)
	if err != nil {
		return nil, storeErr("index load", err)
	}
	now := m.cfg.Now()
	var live []liveSession
	for i, rec := range recs {
		if rec == nil || rec[fieldUser] != user ||
			!now.Before(m.expiresAt(msTime(rec[fieldCreated]), msTime(rec[fieldSeen]))) {
			stale = append(stale, sels[i])
			continue
		}
		live = append(live, liveSession{selector: sels[i], rec: rec})
	}
	if len(stale) > 0 {
		if err := m.store.IndexRemove(ctx, index, stale...); err != nil {
			m.log.Warn("session: prune index", "err", err)
		}
	}
	return live, nil
}

// Revoke ends the session of user whose public id is id. It reports whether
// there was such a session.
func (m *Manager) Revoke(ctx context.Context, user, id string) (bool, error) {
	start := time.Now()
	live, err := m.live(ctx, user)
	if err != nil {
		m.observe(OpRevoke, OutcomeError, start)
		return false, err
	}
	for _, l := range live {
		if PublicID(l.selector) == id {
			err := m.revoke(ctx, user, []string{l.selector})
			m.observe(OpRevoke, outcomeOf(err), start)
			return err == nil, err
		}
	}
	m.observe(OpRevoke, OutcomeMissing, start)
	return false, nil
}

// RevokeAll ends every session of user and returns how many there were.
func (m *Manager) RevokeAll(ctx context.Context, user string) (int, error) {
	start := time.Now()
	ctx2, cancel := m.ctx(ctx)
	entries, err := m.store.IndexList(ctx2, m.IndexKey(user))
	cancel()
	if err != nil {
		m.observe(OpRevoke, OutcomeError, start)
		return 0, storeErr("index list", err)
	}
	sels := make([]string, 0, len(entries))
	for _, e := range entries {
		if validSelector(e.Member) {
			sels = append(sels, e.Member)
		}
	}
	err = m.revoke(ctx, user, sels)
	m.observe(OpRevoke, outcomeOf(err), start)
	return len(sels), err
}

func (m *Manager) revoke(ctx context.Context, user string, sels []string) error {
	if len(sels) == 0 {
		return nil
	}
	ctx, cancel := m.ctx(ctx)
	defer cancel()
	keys := make([]string, len(sels))
	for i, sel := range sels {
		keys[i] = m.SessionKey(sel)
	}
	if err := m.store.Delete(ctx, keys...); err != nil {
		return storeErr("revoke", err)
	}
	if err := m.store.IndexRemove(ctx, m.IndexKey(user), sels...); err != nil {
		m.log.Warn("session: index remove after revoke (healed on next listing)", "err", err)
	}
	return nil
}
