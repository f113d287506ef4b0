package session

import (
	"net/http"
	"strconv"
	"time"
)

// Session is one request's view of a session. Its methods are those of
// github.com/gin-contrib/sessions.Session (the ginsession adapter serves it
// through sessions.Default(c)) plus the engine's own: Incr, Login, Renew,
// Destroy, User...
//
// Reads are served from what was loaded at the start of the request.
// Changes are kept as pending, and written as one delta in one round trip
// when the session is committed: by Save, or by the framework adapter
// before the response is written.
//
// This file owns a session's state: what the store holds as the request
// knows it (standing, token, record), what the answer does to the
// browser's cookie, and what the request asked for (pending). Only the
// methods below change them; the Manager calls them as it loads and
// commits (manager.go, commit.go).
type Session struct {
	m          *Manager
	r          *http.Request
	w          http.ResponseWriter
	cookieName string
	options    *CookieOptions

	standing standing
	tok      Token  // the cookie's, when standing is not standingNone
	rec      Record // as stored: raw fields, metadata included
	meta     meta   // rec[MetaField], decoded
	values   map[string]any
	written  bool // this request wrote the session to the store

	cookie cookieAction // what the answer does to the browser's cookie

	pending
}

// standing is where the request's session stands in the store.
type standing uint8

const (
	standingNone   standing = iota // nothing stored (no cookie, or one naming no session)
	standingStored                 // a stored session, loaded or written by this request
	standingMoved                  // the cookie names a session a login renamed a moment ago
)

// cookieAction is what the answer does to the browser's cookie.
type cookieAction uint8

const (
	cookieKeep   cookieAction = iota // leave it as it is
	cookieSend                       // send the session's token (new, or re-signed with the first key)
	cookieExpire                     // expire it: it names no session any more
)

// intent is what a request asked of the session as a whole, applied at
// commit. A later call may raise it (Renew after Login stays a login;
// Destroy wins).
type intent uint8

const (
	intentNone    intent = iota
	intentRenew          // a new id, the data kept
	intentLogin          // a new id and an owner (newUser)
	intentDestroy        // deleted, and the cookie expired
)

// pending is what a request changed and has not committed yet.
type pending struct {
	intent  intent
	newUser string // the owner Login named

	sets    map[string]string // attribute -> new encoded value
	dels    map[string]bool
	incrs   map[string]int64 // attribute -> amount to add
	incrMax map[string]int64

	touch bool  // last-seen is due for a refresh
	err   error // first misuse (unencodable value, bad key), reported by Save
}

func newSession(m *Manager, r *http.Request, cookieName string) *Session {
	return &Session{m: m, r: r, cookieName: cookieName, values: map[string]any{}}
}

// adopt makes s the view of the stored session rec, loaded with tok: its
// cookie is re-signed when resign, and last-seen refreshed at commit when
// touch.
func (s *Session) adopt(tok Token, rec Record, md meta, resign, touch bool) {
	s.standing, s.tok, s.rec, s.meta = standingStored, tok, rec, md
	s.values = decodeValues(rec, s.m.log)
	s.touch = touch
	if resign {
		s.cookie = cookieSend
	}
}

// refuse records that the cookie names no session this request may use;
// expire says whether the answer deletes the cookie.
func (s *Session) refuse(expire bool) {
	if expire {
		s.cookie = cookieExpire
	}
}

// renamed records that the cookie names the session tok, which a login of
// the same browser renamed a moment ago: no session to read, the cookie
// stays, and Destroy still ends the renamed session.
func (s *Session) renamed(tok Token) { s.standing, s.tok = standingMoved, tok }

// forget turns s into an empty, unsaved session, whose answer does
// cookie to the browser's cookie.
func (s *Session) forget(cookie cookieAction) {
	s.standing, s.tok, s.rec, s.meta, s.values = standingNone, Token{}, nil, meta{}, map[string]any{}
	s.pending = pending{}
	s.cookie = cookie
}

// created records a new session's write: s holds it, and the answer sends
// its cookie.
func (s *Session) created(tok Token, rec Record, md meta) {
	rec[MetaField] = md.encode()
	s.standing, s.tok, s.rec, s.meta = standingStored, tok, rec, md
	s.values = decodeValues(rec, s.m.log)
	s.written, s.pending, s.cookie = true, pending{}, cookieSend
}

// applied records what a write of d did (res: the store's answer) to the
// session, which tok names from now on with the metadata md.
func (s *Session) applied(tok Token, md meta, d Delta, res Applied) {
	d.ApplyTo(s.rec, res.Counters)
	if !res.Seen.IsZero() {
		md.seen = res.Seen
	}
	s.rec[MetaField] = md.encode()
	for _, f := range d.Incrs {
		if raw, ok := s.rec[f.Field]; ok {
			n, _ := strconv.ParseInt(raw, 10, 64)
			s.values[f.Field] = float64(n)
		} else {
			delete(s.values, f.Field)
		}
	}
	s.tok, s.meta, s.written, s.pending = tok, md, true, pending{}
	if res.Moved {
		// The write went to the session a login of this browser renamed
		// this one to: the login's answer carries that session's cookie,
		// and this one leaves the cookie alone. Later writes follow the
		// rename too.
		s.cookie = cookieKeep
	}
}

// regenerated records a regenerate's write: applied, under tok from now
// on, whose cookie the answer sends.
func (s *Session) regenerated(tok Token, md meta, d Delta, res Applied) {
	s.applied(tok, md, d, res)
	s.cookie = cookieSend
}

// answered records that the answer now carries what s.cookie said.
func (s *Session) answered() { s.cookie = cookieKeep }

// SetWriter names the response the session's cookie goes to (adapters).
func (s *Session) SetWriter(w http.ResponseWriter) { s.w = w }

// ID is the session's public id (see PublicID), or "" when nothing is stored.
// It is never the cookie's value.
func (s *Session) ID() string {
	if s.standing != standingStored {
		return ""
	}
	return PublicID(s.tok.Selector)
}

// IsNew tells whether the request has no stored session.
func (s *Session) IsNew() bool { return s.standing != standingStored }

// Moved tells whether the request's cookie names a session that a login of
// the same browser renamed a moment ago (see ForwardTTL): the browser
// holds, or is about to hold, the new cookie. Such a session cannot be
// read through the old cookie, but Destroy still ends it.
func (s *Session) Moved() bool { return s.standing == standingMoved }

// Layout is the layout the session is stored in (the layout new sessions
// are written in for one not stored yet).
func (s *Session) Layout() Layout {
	if s.standing != standingNone {
		return s.tok.Layout
	}
	return s.m.write
}

// User is the session's owner ("" for none), as set by Login.
func (s *Session) User() string {
	if s.intent == intentLogin {
		return s.newUser
	}
	return s.meta.user
}

// Created is when the session was first stored (by the store's clock).
func (s *Session) Created() time.Time { return s.meta.created }

// LastSeen is the last recorded use (refreshed at most every touch interval).
func (s *Session) LastSeen() time.Time { return s.meta.seen }

// ExpiresAt is when the session ends if unused: the earlier of the idle
// deadline and the absolute one.
func (s *Session) ExpiresAt() time.Time {
	if s.standing != standingStored {
		return time.Time{}
	}
	return s.m.expiry(s.meta).At(s.meta.seen)
}

// ExpiresIfUsedAt is when the session would end if it were used at t (and
// not after): what ExpiresAt will say once last-seen is refreshed.
func (s *Session) ExpiresIfUsedAt(t time.Time) time.Time {
	if s.standing != standingStored {
		return time.Time{}
	}
	return s.m.expiry(s.meta).At(t)
}

// SetCookieOptions overrides the cookie attributes for this session;
// MaxAge < 0 destroys the session, as in gorilla/sessions.
func (s *Session) SetCookieOptions(o CookieOptions) {
	s.options = &o
	if o.MaxAge < 0 {
		s.intent = intentDestroy
	}
}

// Login makes user the owner, under a new session id: the data is kept,
// the old id stops working at commit, and the session is listed in the
// user's index. A session that did not exist is created.
func (s *Session) Login(user string) {
	s.newUser = user
	s.intent = max(s.intent, intentLogin)
}

// Renew gives the session a new id at commit, keeping its data.
func (s *Session) Renew() { s.intent = max(s.intent, intentRenew) }

// Destroy deletes the session from the store at commit and expires the cookie.
func (s *Session) Destroy() { s.intent = intentDestroy }

// Save commits the session now. It is called for you by the middleware
// before the response is written; calling it earlier lets a handler act on
// the error (ErrConflict, ErrGone, ErrLimit, ErrUnavailable).
func (s *Session) Save() error {
	return s.m.commit(s.r.Context(), s, s.w)
}

// Finish is the commit made for the handler before its response is
// written: it saves what is pending, or, when nothing is, records that a
// request used its session and wrote nothing.
func (s *Session) Finish() error {
	if !s.Dirty() && s.cookie == cookieKeep {
		if s.standing == standingStored && !s.written {
			// The write every peer store would have made here is skipped.
			s.m.observe(OpSave, OutcomeSkipped, time.Now())
		}
		return nil
	}
	return s.Save()
}

// Reload discards s's pending changes and reads the session again: the way
// to retry after a conflict. A stored session that has ended meanwhile
// (a logout or revoke won the race) is ErrGone: s is then an empty
// session whose commit expires the cookie, and nothing is stored. One a
// login of the same browser renamed meanwhile is ErrMoved: it cannot be
// read through this cookie, and the cookie is left alone.
func (s *Session) Reload() error {
	fresh, err := s.m.LoadCookie(s.r, s.cookieName)
	if err != nil {
		return err
	}
	was := s.standing == standingStored
	w, opts := s.w, s.options
	*s = *fresh
	s.w, s.options = w, opts
	switch {
	case was && s.standing == standingMoved:
		return ErrMoved
	case was && s.standing == standingNone:
		s.forget(cookieExpire)
		return ErrGone
	}
	return nil
}

// Discard drops the changes not yet committed; the session stays as
// loaded, and so does a re-signed cookie due. A failed Save discards by
// itself.
func (s *Session) Discard() {
	s.pending = pending{}
	if s.cookie != cookieSend {
		s.cookie = cookieKeep
	}
}

// Dirty tells whether a commit would write anything.
func (s *Session) Dirty() bool {
	switch s.intent {
	case intentLogin:
		return true
	case intentRenew:
		if s.standing == standingStored {
			return true
		}
	case intentDestroy:
		if s.standing != standingNone {
			return true
		}
	}
	return len(s.sets) > 0 || len(s.dels) > 0 || len(s.incrs) > 0 || s.touch || s.err != nil
}
