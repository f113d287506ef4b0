package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// commit writes what s changed, in one store round trip for the session
// (plus index updates at login), and sets or expires the cookie on w.
func (m *Manager) commit(ctx context.Context, s *Session, w http.ResponseWriter) error {
	if s.err != nil {
		err := s.err
		s.Discard()
		return err
	}
	ctx, cancel := m.ctx(ctx)
	defer cancel()
	var err error
	switch {
	case s.destroy:
		err = m.destroy(ctx, s, w)
	case !s.stored:
		err = m.create(ctx, s, w)
	default:
		err = m.update(ctx, s, w)
	}
	if err != nil {
		// Nothing was written: drop the changes, so that the error
		// response does not commit them again. A retry re-reads (Reload)
		// and re-applies.
		s.Discard()
	}
	return err
}

func (m *Manager) destroy(ctx context.Context, s *Session, w http.ResponseWriter) error {
	if s.stored {
		start := time.Now()
		err := m.store.Delete(ctx, m.SessionKey(s.tok.Selector))
		m.observe(OpDestroy, outcomeOf(err), start)
		if err != nil {
			return storeErr("destroy", err)
		}
		if u := s.rec[fieldUser]; u != "" {
			if err := m.store.IndexRemove(ctx, m.IndexKey(u), s.tok.Selector); err != nil {
				m.log.Warn("session: index remove after destroy (healed on next listing)", "err", err)
			}
		}
	}
	if s.stored || s.clearCookie || w != nil {
		m.expireCookie(w, s)
	}
	m.forget(s)
	return nil
}

// forget turns s into an empty, unsaved session.
func (m *Manager) forget(s *Session) {
	s.tok, s.stored, s.rec, s.values = Token{}, false, nil, map[string]any{}
	s.resetPending()
}

func (m *Manager) create(ctx context.Context, s *Session, w http.ResponseWriter) error {
	if !s.login && len(s.sets) == 0 && len(s.incrs) == 0 {
		// Nothing to keep: anonymous requests store nothing.
		if s.clearCookie {
			m.expireCookie(w, s)
			s.clearCookie = false
		}
		return nil
	}
	start := time.Now()
	now := m.cfg.Now()
	rec := Record{
		fieldCreated: msString(now),
		fieldSeen:    msString(now),
		fieldDevice:  deviceLabel(s.r.UserAgent()),
	}
	for k, v := range s.sets {
		rec[k] = v
	}
	for k, by := range s.incrs {
		if max := s.incrMax[k]; max > 0 && by > max {
			m.observe(OpCreate, OutcomeLimit, start)
			return ErrLimit
		}
		if by > 0 {
			rec[k] = fmt.Sprint(by)
		}
	}
	user := s.newUser
	if s.login {
		rec[fieldUser] = user
	}
	var tok Token
	var err error
	for range 3 {
		if tok, err = newToken(""); err != nil {
			return err
		}
		rec[fieldVerifier] = verifierHash(tok.Verifier)
		var ix IndexOps
		if user != "" {
			ix = IndexOps{AddIndex: m.IndexKey(user), AddMember: tok.Selector, AddDeadline: now.Add(m.cfg.Lifetime)}
		}
		if err = m.store.Create(ctx, m.SessionKey(tok.Selector), rec, m.expiresAt(now, now), ix); !errors.Is(err, ErrExists) {
			break
		}
	}
	m.observe(OpCreate, outcomeOf(err), start)
	if err != nil {
		return storeErr("create", err)
	}
	s.wrote = true
	s.tok, s.stored, s.rec = tok, true, rec
	s.values = decodeValues(rec, m.log)
	s.resetPending()
	m.setCookie(w, s)
	return nil
}

func (m *Manager) update(ctx context.Context, s *Session, w http.ResponseWriter) error {
	var d Delta
	for k, v := range s.sets {
		d.Sets = append(d.Sets, FieldSet{Field: k, Expected: s.rec[k], Value: v})
	}
	for k := range s.dels {
		d.Dels = append(d.Dels, FieldSet{Field: k, Expected: s.rec[k]})
	}
	for k, by := range s.incrs {
		d.Incrs = append(d.Incrs, FieldIncr{Field: k, By: by, Max: s.incrMax[k]})
	}
	oldUser, newUser := s.rec[fieldUser], s.rec[fieldUser]
	if s.login {
		newUser = s.newUser
		d.Force = append(d.Force, FieldSet{Field: fieldUser, Value: newUser})
	}
	op := OpSave
	if !s.renew && d.Empty() {
		if !s.touch {
			if s.resign {
				m.setCookie(w, s)
				s.resign = false
			}
			return nil // read-only request: no write at all
		}
		op = OpTouch
	}
	start := time.Now()
	now := m.cfg.Now()
	// Any write refreshes last-seen and the TTL too: it costs no extra trip.
	d.Force = append(d.Force, FieldSet{Field: fieldSeen, Value: msString(now)})
	d.ExpireAt = m.expiresAt(s.Created(), now)

	var results []int64
	var err error
	oldSel := s.tok.Selector
	newTok := s.tok
	if s.renew {
		op = OpRegenerate
		if newTok, err = newToken(oldSel); err != nil {
			return err
		}
		d.Force = append(d.Force, FieldSet{Field: fieldVerifier, Value: verifierHash(newTok.Verifier)})
		var ix IndexOps
		if newUser != "" {
			ix.AddIndex, ix.AddMember, ix.AddDeadline = m.IndexKey(newUser), newTok.Selector, s.Created().Add(m.cfg.Lifetime)
		}
		if oldUser != "" {
			ix.RemoveIndex, ix.RemoveMember = m.IndexKey(oldUser), oldSel
		}
		results, err = m.store.Rename(ctx, m.SessionKey(oldSel), m.SessionKey(newTok.Selector), d, ix)
	} else {
		results, err = m.store.Apply(ctx, m.SessionKey(oldSel), d)
	}
	m.observe(op, outcomeOf(err), start)
	if errors.Is(err, ErrGone) {
		// Logged out or revoked meanwhile: the change is dropped and the
		// session stays gone.
		m.expireCookie(w, s)
		m.forget(s)
		return ErrGone
	}
	if err != nil {
		return storeErr(op.String(), err)
	}
	s.wrote = true
	m.applied(s, d, results)
	s.tok = newTok
	if s.renew || s.resign {
		m.setCookie(w, s)
	}
	s.resetPending()
	return nil
}

// applied folds a written delta into the loaded record and the values.
func (m *Manager) applied(s *Session, d Delta, results []int64) {
	d.ApplyTo(s.rec, results)
	for _, f := range d.Incrs {
		if raw, ok := s.rec[f.Field]; ok {
			n, _ := strconv.ParseInt(raw, 10, 64)
			s.values[f.Field] = float64(n)
		} else {
			delete(s.values, f.Field)
		}
	}
}

func (m *Manager) cookie(s *Session, r *http.Request) *http.Cookie {
	var deadline time.Time
	if s.stored {
		deadline = s.Created().Add(m.cfg.Lifetime)
	}
	return m.cfg.Cookie.build(s.cookieName, r, deadline, s.options)
}

func (m *Manager) setCookie(w http.ResponseWriter, s *Session) {
	if w == nil {
		return
	}
	c := m.cookie(s, s.r)
	c.Value = m.signer.Encode(s.tok)
	http.SetCookie(w, c)
}

func (m *Manager) expireCookie(w http.ResponseWriter, s *Session) {
	if w == nil {
		return
	}
	c := m.cookie(s, s.r)
	c.MaxAge = -1
	http.SetCookie(w, c)
}
