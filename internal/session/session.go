package session

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const flashKey = "_flash"

// Session is one request's view of a session. Its methods are those of
// github.com/gin-contrib/sessions.Session (the ginsession adapter serves it
// through sessions.Default(c)) plus the engine's own: Incr, Login, Renew,
// Destroy, User...
//
// Reads are served from what was loaded at the start of the request.
// Changes are kept as pending (see pending), and written as one delta in
// one round trip when the session is committed: by Save, or by the
// framework adapter before the response is written.
type Session struct {
	m          *Manager
	r          *http.Request
	w          http.ResponseWriter
	cookieName string

	tok    Token
	stored bool   // a stored session was loaded (or created by this request)
	rec    Record // as stored: raw fields, metadata included
	meta   meta   // rec[MetaField], decoded
	values map[string]any

	pending

	resign      bool // cookie verified with an older key: send a re-signed one
	clearCookie bool // request came with a cookie naming no valid session
	moved       bool // request came with the cookie of a session renamed a moment ago
	options     *CookieOptions
	wrote       bool // this request wrote the session to the store
}

// pending is what a request changed and has not committed yet.
type pending struct {
	sets    map[string]string // attribute -> new encoded value
	dels    map[string]bool
	incrs   map[string]int64 // attribute -> amount to add
	incrMax map[string]int64

	newUser string // owner set by Login, applied at commit
	login   bool
	renew   bool
	destroy bool
	touch   bool  // last-seen is due for a refresh
	err     error // first misuse (unencodable value, bad key), reported by Save
}

func newSession(m *Manager, r *http.Request, cookieName string) *Session {
	return &Session{m: m, r: r, cookieName: cookieName, values: map[string]any{}}
}

func (s *Session) resetPending() {
	s.pending = pending{}
	s.resign, s.clearCookie, s.moved = false, false, false
}

// SetWriter names the response the session's cookie goes to (adapters).
func (s *Session) SetWriter(w http.ResponseWriter) { s.w = w }

// ID is the session's public id (see PublicID), or "" when nothing is stored.
// It is never the cookie's value.
func (s *Session) ID() string {
	if !s.stored {
		return ""
	}
	return PublicID(s.tok.Selector)
}

// IsNew tells whether the request has no stored session.
func (s *Session) IsNew() bool { return !s.stored }

// Moved tells whether the request's cookie names a session that a login of
// the same browser renamed a moment ago (see ForwardTTL): the browser
// holds, or is about to hold, the new cookie. Such a session cannot be
// read through the old cookie, but Destroy still ends it.
func (s *Session) Moved() bool { return s.moved }

// Layout is the layout the session is stored in (the layout new sessions
// are written in for one not stored yet).
func (s *Session) Layout() Layout {
	if s.stored || s.moved {
		return s.tok.Layout
	}
	return s.m.write
}

// User is the session's owner ("" for none), as set by Login.
func (s *Session) User() string {
	if s.login {
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
	if !s.stored {
		return time.Time{}
	}
	return s.m.expiry(s.meta).At(s.meta.seen)
}

func attrKey(k any) (string, error) {
	ks, ok := k.(string)
	if !ok {
		return "", fmt.Errorf("session: key of type %T: only string keys are stored", k)
	}
	if ks == "" || strings.HasPrefix(ks, "@") || len(ks) > 256 {
		return "", fmt.Errorf("session: key %q: must be 1-256 bytes and not start with '@'", ks)
	}
	return ks, nil
}

func (s *Session) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// Get returns the value of key as decoded from JSON (string, float64, bool,
// []any, map[string]any), or the Go value given to Set in this request.
func (s *Session) Get(key any) any {
	k, err := attrKey(key)
	if err != nil {
		return nil
	}
	if by, ok := s.incrs[k]; ok {
		return float64(s.intValue(k) + by)
	}
	return s.values[k]
}

// String returns the value of key if it is a string.
func (s *Session) String(key string) string {
	v, _ := s.Get(key).(string)
	return v
}

// Int returns the value of key as an integer (0 if it is not a number).
func (s *Session) Int(key string) int64 {
	if by, ok := s.incrs[key]; ok {
		return s.intValue(key) + by
	}
	return s.intValue(key)
}

func (s *Session) intValue(key string) int64 {
	if enc, ok := s.sets[key]; ok {
		n, _ := strconv.ParseInt(enc, 10, 64)
		return n
	}
	if s.dels[key] {
		return 0
	}
	n, _ := strconv.ParseInt(s.rec[key], 10, 64)
	return n
}

// Keys returns the names of the session's attributes, sorted.
func (s *Session) Keys() []string {
	keys := make([]string, 0, len(s.values)+len(s.incrs))
	for k := range s.values {
		keys = append(keys, k)
	}
	for k := range s.incrs {
		if _, ok := s.values[k]; !ok && s.Int(k) > 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Set records key=val, to be written at commit if it differs from the stored
// value. The write is a compare-and-set against the value this request
// loaded: if another request changed it meanwhile, the commit fails with a
// *ConflictError instead of silently overwriting.
func (s *Session) Set(key any, val any) {
	k, err := attrKey(key)
	if err != nil {
		s.fail(err)
		return
	}
	enc, err := json.Marshal(val)
	if err != nil {
		s.fail(fmt.Errorf("session: value of %q: %w", k, err))
		return
	}
	delete(s.dels, k)
	delete(s.incrs, k)
	if cur, ok := s.rec[k]; ok && cur == string(enc) {
		delete(s.sets, k)
	} else {
		if s.sets == nil {
			s.sets = map[string]string{}
		}
		s.sets[k] = string(enc)
	}
	s.values[k] = val
}

// Delete records the removal of key (compare-and-delete, as Set).
func (s *Session) Delete(key any) {
	k, err := attrKey(key)
	if err != nil {
		return
	}
	delete(s.sets, k)
	delete(s.incrs, k)
	delete(s.values, k)
	if _, ok := s.rec[k]; ok {
		if s.dels == nil {
			s.dels = map[string]bool{}
		}
		s.dels[k] = true
	}
}

// Clear deletes every attribute (the owner and metadata stay).
func (s *Session) Clear() {
	for _, k := range s.Keys() {
		s.Delete(k)
	}
}

// Incr adds by to the integer attribute key atomically in the store, so
// concurrent increments on any replica all count. If the result would pass
// max (when max > 0) the commit fails with ErrLimit; at or below zero the
// attribute is removed.
func (s *Session) Incr(key string, by, max int64) {
	k, err := attrKey(key)
	if err != nil {
		s.fail(err)
		return
	}
	if _, ok := s.sets[k]; ok {
		s.fail(fmt.Errorf("session: Incr of %q after Set in the same request", k))
		return
	}
	if by > MaxCounter || by < -MaxCounter {
		s.fail(fmt.Errorf("session: Incr of %q by %d: %w (at most %d either way)", k, by, ErrLimit, int64(MaxCounter)))
		return
	}
	if s.incrs == nil {
		s.incrs, s.incrMax = map[string]int64{}, map[string]int64{}
	}
	s.incrs[k] += by
	s.incrMax[k] = max
}

// AddFlash appends a flash message (default key "_flash").
func (s *Session) AddFlash(value any, vars ...string) {
	k := flashKey
	if len(vars) > 0 {
		k = vars[0]
	}
	list, _ := s.Get(k).([]any)
	s.Set(k, append(slices.Clone(list), value))
}

// Flashes returns and removes the flash messages (default key "_flash").
func (s *Session) Flashes(vars ...string) []any {
	k := flashKey
	if len(vars) > 0 {
		k = vars[0]
	}
	list, _ := s.Get(k).([]any)
	if list != nil {
		s.Delete(k)
	}
	return list
}

// SetCookieOptions overrides the cookie attributes for this session;
// MaxAge < 0 destroys the session, as in gorilla/sessions.
func (s *Session) SetCookieOptions(o CookieOptions) {
	s.options = &o
	if o.MaxAge < 0 {
		s.destroy = true
	}
}

// Login makes user the owner, under a new session id: the data is kept,
// the old id stops working at commit, and the session is listed in the
// user's index. A session that did not exist is created.
func (s *Session) Login(user string) {
	s.newUser, s.login, s.renew = user, true, true
}

// Renew gives the session a new id at commit, keeping its data.
func (s *Session) Renew() { s.renew = true }

// Destroy deletes the session from the store at commit and expires the cookie.
func (s *Session) Destroy() { s.destroy = true }

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
	if !s.Dirty() && !s.clearCookie && !s.resign {
		if s.stored && !s.wrote {
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
// session whose commit expires the cookie, and nothing is stored.
func (s *Session) Reload() error {
	fresh, err := s.m.LoadCookie(s.r, s.cookieName)
	if err != nil {
		return err
	}
	was := s.stored
	w, opts := s.w, s.options
	*s = *fresh
	s.w, s.options = w, opts
	switch {
	case was && s.moved:
		// Renamed by a login of this browser since it was read: the
		// renamed session is not readable through this cookie, and the
		// login's answer carries the new one.
		return ErrMoved
	case was && !s.stored:
		s.clearCookie = true
		return ErrGone
	}
	return nil
}

// Discard drops the changes not yet committed; the session stays as loaded.
// A failed Save discards by itself.
func (s *Session) Discard() {
	resign := s.resign
	s.resetPending()
	s.resign = resign
}

// Dirty tells whether a commit would write anything.
func (s *Session) Dirty() bool {
	return len(s.sets) > 0 || len(s.dels) > 0 || len(s.incrs) > 0 || s.login ||
		s.renew && s.stored || s.destroy && (s.stored || s.moved) || s.touch || s.err != nil
}

// delta is the change the pending edits make to rec, the record as it was
// loaded: compare-and-set writes and deletes against the values read, and
// atomic increments.
func (p *pending) delta(rec Record) Delta {
	var d Delta
	for k, v := range p.sets {
		d.Sets = append(d.Sets, FieldSet{Field: k, Expected: rec[k], Value: v})
	}
	for k := range p.dels {
		d.Dels = append(d.Dels, FieldSet{Field: k, Expected: rec[k]})
	}
	for k, by := range p.incrs {
		d.Incrs = append(d.Incrs, FieldIncr{Field: k, By: by, Max: p.incrMax[k]})
	}
	return d
}

// attributes are the fields a new session starts with: what the request
// set, and its increments (ErrLimit past their maximum).
func (p *pending) attributes() (Record, error) {
	rec := Record{}
	for k, v := range p.sets {
		rec[k] = v
	}
	for k, by := range p.incrs {
		in := FieldIncr{Field: k, By: by, Max: p.incrMax[k]}
		if by > in.Limit() {
			return nil, ErrLimit
		}
		if by > 0 {
			rec[k] = strconv.FormatInt(by, 10)
		}
	}
	return rec, nil
}
