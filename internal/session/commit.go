package session

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// commit writes what s changed, in one store round trip for the session
// (index changes included where the store can), and sets or expires the
// cookie on w.
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

// destroy ends the session (and a successor a concurrent login renamed it
// to) and expires the cookie.
func (m *Manager) destroy(ctx context.Context, s *Session, w http.ResponseWriter) error {
	if s.stored || s.moved {
		start := time.Now()
		l := s.tok.Layout
		var ix IndexRef
		if s.meta.user != "" {
			ix = m.indexOf(l, s.meta.user)
		}
		_, err := m.store(l).End(ctx, ix, Target{Key: m.sessionKey(l, s.tok.Selector), Member: s.tok.Selector})
		m.observe(OpDestroy, outcomeOf(err), start)
		if err != nil {
			return storeErr("destroy", err)
		}
	}
	if s.stored || s.moved || s.clearCookie || w != nil {
		m.expireCookie(w, s)
	}
	m.forget(s)
	return nil
}

// forget turns s into an empty, unsaved session.
func (m *Manager) forget(s *Session) {
	s.tok, s.stored, s.rec, s.meta, s.values = Token{}, false, nil, meta{}, map[string]any{}
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
	if s.moved {
		// The browser holds the cookie of the session this one's cookie
		// was renamed to: a new session's cookie would replace it.
		m.forget(s)
		return ErrMoved
	}
	start := time.Now()
	rec, err := s.attributes()
	if err != nil {
		m.observe(OpCreate, outcomeOf(err), start)
		return err
	}
	l := m.write
	md := metaFor(l)
	md.device = deviceOf(s.r.UserAgent())
	if s.login {
		md.user = s.newUser
		rec[UserField] = md.user
	}
	exp := Expiry{Idle: m.cfg.IdleTimeout, Lifetime: m.cfg.Lifetime, Skew: m.cfg.ClockSkew}
	var tok Token
	var made Created
	for range 3 {
		if tok, err = newToken(l, ""); err != nil {
			return err
		}
		md.verifier = verifierHash(tok.Verifier)
		rec[MetaField] = md.encode()
		var ix IndexAdd
		if md.user != "" {
			ix = IndexAdd{IndexRef: m.indexOf(l, md.user), Member: tok.Selector, Max: m.cfg.MaxPerUser}
		}
		if made, err = m.store(l).Create(ctx, m.sessionKey(l, tok.Selector), rec, exp, ix); !errors.Is(err, ErrExists) {
			break
		}
	}
	m.observe(OpCreate, outcomeOf(err), start)
	if err != nil {
		return storeErr("create", err)
	}
	md.created, md.seen = made.At, made.At
	rec[MetaField] = md.encode()
	s.wrote = true
	s.tok, s.stored, s.rec, s.meta = tok, true, rec, md
	s.values = decodeValues(rec, m.log)
	s.resetPending()
	m.setCookie(w, s)
	m.endOver(ctx, l, md.user, made.Over)
	return nil
}

func (m *Manager) update(ctx context.Context, s *Session, w http.ResponseWriter) error {
	l := s.tok.Layout
	d := s.delta(s.rec)
	oldUser, newUser := s.meta.user, s.meta.user
	if s.login {
		newUser = s.newUser
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
	md := s.meta
	md.user = newUser
	if s.touch || s.renew {
		// Touched together with the change: it costs no extra trip.
		d.Touch = &Touch{Expiry: m.expiry(md), Member: s.tok.Selector}
		if md.user != "" && !s.renew {
			d.Touch.Index = m.indexOf(l, md.user) // a rename moves the entry itself
		}
	}

	var res Applied
	var err error
	oldSel := s.tok.Selector
	newTok := s.tok
	if s.renew {
		op = OpRegenerate
		if newTok, err = newToken(l, oldSel); err != nil {
			return err
		}
		md.verifier = verifierHash(newTok.Verifier)
		d.Force = append(d.Force, FieldSet{Field: MetaField, Value: md.encode()})
		if s.login {
			d.Force = append(d.Force, FieldSet{Field: UserField, Value: newUser})
		}
		d.Touch.Member = newTok.Selector
		var ix IndexMove
		if newUser != "" {
			ix.Add = IndexAdd{IndexRef: m.indexOf(l, newUser), Member: newTok.Selector, Max: m.cfg.MaxPerUser}
		}
		if oldUser != "" {
			ix.Remove, ix.RemoveMember = m.indexOf(l, oldUser), oldSel
		}
		res, err = m.store(l).Rename(ctx, m.sessionKey(l, oldSel), m.sessionKey(l, newTok.Selector), d, ix)
	} else {
		res, err = m.store(l).Apply(ctx, m.sessionKey(l, oldSel), d)
	}
	m.observe(op, outcomeOf(err), start)
	switch {
	case errors.Is(err, ErrMoved):
		// A concurrent login of this very session (a double-submitted
		// form) renamed it first: its response carries the new cookie.
		// This one sets none, so the browser ends up in the renamed
		// session, with its data, whichever response it applies last.
		m.forget(s)
		return ErrMoved
	case errors.Is(err, ErrGone):
		// Logged out or revoked meanwhile: the change is dropped and the
		// session stays gone.
		m.expireCookie(w, s)
		m.forget(s)
		return ErrGone
	case err != nil:
		return storeErr(op.String(), err)
	}
	s.wrote = true
	d.ApplyTo(s.rec, res.Counters)
	if !res.Seen.IsZero() {
		md.seen = res.Seen
	}
	s.rec[MetaField] = md.encode()
	s.meta = md
	for _, f := range d.Incrs {
		if raw, ok := s.rec[f.Field]; ok {
			n, _ := strconv.ParseInt(raw, 10, 64)
			s.values[f.Field] = float64(n)
		} else {
			delete(s.values, f.Field)
		}
	}
	if res.Moved {
		// Applied to the session a login of this browser renamed this one
		// to, after this request read it: the login's answer carries its
		// cookie, and this one must not touch it. Later writes of this
		// request follow the forward too.
		s.resetPending()
		s.moved = true
		return nil
	}
	s.tok = newTok
	if s.renew || s.resign {
		m.setCookie(w, s)
	}
	s.resetPending()
	m.endOver(ctx, l, newUser, res.Over)
	return nil
}

// endOver ends the sessions of user beyond MaxPerUser that a write
// reported. They stay listed until they are ended, so a failure here only
// leaves them for the next login to end.
func (m *Manager) endOver(ctx context.Context, l Layout, user string, over []string) {
	if len(over) == 0 {
		return
	}
	targets := make([]Target, 0, len(over))
	for _, sel := range over {
		if validSelector(sel) {
			targets = append(targets, Target{Key: m.sessionKey(l, sel), Member: sel})
		}
	}
	start := time.Now()
	_, err := m.store(l).End(ctx, m.indexOf(l, user), targets...)
	m.observe(OpRevoke, outcomeOf(err), start)
	if err != nil {
		m.log.Warn("session: ending sessions beyond the maximum per user (retried at the next login)", "err", err)
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
