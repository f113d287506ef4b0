package session

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// commit writes what s changed, in one store round trip for the session
// (index changes included where the store can), and sets or expires the
// cookie on w. It is one of four writes: destroy, create (nothing stored
// yet), regenerate (a new id: login, Renew) or update (changes, a touch, or
// nothing at all).
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
	case s.intent == intentDestroy:
		err = m.destroy(ctx, s)
	case s.standing != standingStored:
		err = m.create(ctx, s)
	case s.intent != intentNone:
		err = m.regenerate(ctx, s)
	default:
		err = m.update(ctx, s)
	}
	if err != nil && !errors.Is(err, ErrGone) && !errors.Is(err, ErrMoved) {
		// Nothing was written: drop the changes, so that the error
		// response does not commit them again, and leave the cookie. A
		// retry re-reads (Reload) and re-applies.
		s.Discard()
		return err
	}
	m.answerCookie(w, s)
	return err
}

// destroy ends the session (and a successor a concurrent login renamed it
// to) and expires the cookie.
func (m *Manager) destroy(ctx context.Context, s *Session) error {
	if s.standing != standingNone {
		l, start := s.tok.Layout, time.Now()
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
	s.forget(cookieExpire)
	return nil
}

// create stores a new session holding what the request set (and its
// owner, for a login), in the layout new sessions are written in. An
// anonymous request that keeps nothing stores nothing.
func (m *Manager) create(ctx context.Context, s *Session) error {
	if s.intent != intentLogin && len(s.sets) == 0 && len(s.incrs) == 0 {
		return nil
	}
	if s.standing == standingMoved {
		// The browser holds the cookie of the session this one's cookie
		// was renamed to: a new session's cookie would replace it.
		s.forget(cookieKeep)
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
	if s.intent == intentLogin {
		md.user = s.newUser
		rec[UserField] = md.user
	}
	exp := Expiry{Idle: m.cfg.IdleTimeout, Lifetime: m.cfg.Lifetime, Skew: m.cfg.ClockSkew}
	var tok Token
	var made Created
	for range 3 { // a taken key is a 96-bit collision: a retry is plenty
		if tok, err = newToken(l, ""); err != nil {
			return err
		}
		md.verifier = verifierHash(tok.Verifier)
		rec[MetaField] = md.encode()
		var ix IndexAdd
		if md.user != "" {
			ix = IndexAdd{IndexRef: m.indexOf(l, md.user), Member: tok.Selector, Max: m.cfg.MaxPerUser, Sessions: m.sessionKeys(l)}
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
	s.created(tok, rec, md)
	m.endOver(ctx, l, md.user, made.Over)
	return nil
}

// regenerate moves the stored session to a new id (a login, or Renew)
// with the request's changes, touching it, and sends the new cookie; the
// old id forwards to the new one for ForwardTTL.
func (m *Manager) regenerate(ctx context.Context, s *Session) error {
	l, old := s.tok.Layout, s.tok.Selector
	md := s.meta
	oldUser := md.user
	d := s.delta(s.rec)
	if s.intent == intentLogin {
		md.user = s.newUser
		d.Force = append(d.Force, FieldSet{Field: UserField, Value: md.user})
	}
	tok, err := newToken(l, old)
	if err != nil {
		return err
	}
	md.verifier = verifierHash(tok.Verifier)
	d.Force = append(d.Force, FieldSet{Field: MetaField, Value: md.encode()})
	d.Touch = &Touch{Expiry: m.expiry(md), Member: tok.Selector} // the rename moves the index entry itself
	var ix IndexMove
	if md.user != "" {
		ix.Add = IndexAdd{IndexRef: m.indexOf(l, md.user), Member: tok.Selector, Max: m.cfg.MaxPerUser, Sessions: m.sessionKeys(l)}
	}
	if oldUser != "" {
		ix.Remove, ix.RemoveMember = m.indexOf(l, oldUser), old
	}
	start := time.Now()
	res, err := m.store(l).Rename(ctx, m.sessionKey(l, old), m.sessionKey(l, tok.Selector), d, ix)
	m.observe(OpRegenerate, outcomeOf(err), start)
	if err != nil {
		return m.notWritten(s, OpRegenerate, err)
	}
	s.regenerated(tok, md, d, res)
	m.endOver(ctx, l, md.user, res.Over)
	return nil
}

// update writes the request's changes to the stored session, touching it
// when its last-seen is due for a refresh. A request that changed nothing
// and is not due writes nothing.
func (m *Manager) update(ctx context.Context, s *Session) error {
	d := s.delta(s.rec)
	if d.Empty() && !s.touch {
		return nil
	}
	op := OpSave
	if d.Empty() {
		op = OpTouch
	}
	l, md := s.tok.Layout, s.meta
	if s.touch {
		// Touched together with the change: it costs no extra trip.
		d.Touch = &Touch{Expiry: m.expiry(md), Member: s.tok.Selector}
		if md.user != "" {
			d.Touch.Index = m.indexOf(l, md.user)
		}
	}
	start := time.Now()
	res, err := m.store(l).Apply(ctx, m.sessionKey(l, s.tok.Selector), d)
	m.observe(op, outcomeOf(err), start)
	if err != nil {
		return m.notWritten(s, op, err)
	}
	s.applied(s.tok, md, d, res)
	return nil
}

// notWritten is what a write that did not happen leaves: a concurrent
// login renamed the session first (a double-submitted form: its answer
// carries the new cookie, this one sets none, so the browser ends up in
// the renamed session, with its data, whichever answer it applies last);
// or it ended meanwhile (a logout or revoke: the change is dropped, the
// session stays gone, the cookie is expired); or the store failed.
func (m *Manager) notWritten(s *Session, op Op, err error) error {
	switch {
	case errors.Is(err, ErrMoved):
		s.forget(cookieKeep)
		return ErrMoved
	case errors.Is(err, ErrGone):
		s.forget(cookieExpire)
		return ErrGone
	}
	return storeErr(op.String(), err)
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
	if s.standing == standingStored {
		deadline = s.Created().Add(m.cfg.Lifetime)
	}
	return m.cfg.Cookie.build(s.cookieName, r, deadline, s.options)
}

// answerCookie does to the browser's cookie what s says, on w.
func (m *Manager) answerCookie(w http.ResponseWriter, s *Session) {
	if s.cookie == cookieKeep {
		return
	}
	if w != nil {
		c := m.cookie(s, s.r)
		if s.cookie == cookieSend {
			c.Value = m.signer.Encode(s.tok)
		} else {
			c.MaxAge = -1
		}
		http.SetCookie(w, c)
	}
	s.answered()
}
