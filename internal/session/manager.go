package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-contrib/sessions"
)

// Config configures a Manager. Zero durations take the documented defaults.
type Config struct {
	Backend Backend
	// Keys sign cookies: the first signs, every key verifies (rotation).
	// Each must be at least 32 bytes.
	Keys [][]byte
	// KeyPrefix is put before every store key (default "").
	KeyPrefix string
	// Permanent: the cookie lasts Lifetime; otherwise it is a browser-session
	// cookie. The server-side expiry is the same either way.
	Permanent bool
	// Lifetime is the absolute limit of a session (default 24h).
	Lifetime time.Duration
	// IdleTimeout ends a session unused this long (default 1h).
	IdleTimeout time.Duration
	// TouchInterval is how often last-seen (and the store TTL) is refreshed
	// on reads (default IdleTimeout/10). Reads in between write nothing, so a
	// session may end up to this much before IdleTimeout after its last use.
	TouchInterval time.Duration
	// Timeout bounds each store call (default 1s).
	Timeout time.Duration
	// Secure decides the cookie's Secure flag per request (default: r.TLS != nil).
	Secure func(*http.Request) bool
	// Observer, if set, is told of every engine operation (metrics).
	Observer Observer
	// Logger gets failures that do not reach the caller (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
}

// Observer is told of each engine operation and how it ended (see Ops and
// Outcomes for the full lists).
type Observer interface {
	Op(op Op, outcome Outcome, d time.Duration)
}

// Manager owns the session policy: tokens, signing, expiry, cookies and the
// per-user index. Stores only store.
type Manager struct {
	cfg    Config
	store  Backend
	signer signer
	log    *slog.Logger
}

// NewManager checks cfg and returns a Manager.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Backend == nil {
		return nil, errors.New("session: no backend")
	}
	if len(cfg.Keys) == 0 {
		return nil, errors.New("session: no signing key")
	}
	for i, k := range cfg.Keys {
		if len(k) < 32 {
			return nil, fmt.Errorf("session: signing key %d is %d bytes, want at least 32", i+1, len(k))
		}
	}
	if strings.ContainsAny(cfg.KeyPrefix, "{}") {
		// A brace would make the prefix the Cluster hash tag: every key in
		// one slot.
		return nil, fmt.Errorf("session: key prefix %q may not contain { or }", cfg.KeyPrefix)
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = 24 * time.Hour
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = time.Hour
	}
	if cfg.IdleTimeout > cfg.Lifetime {
		cfg.IdleTimeout = cfg.Lifetime
	}
	if cfg.TouchInterval <= 0 {
		cfg.TouchInterval = cfg.IdleTimeout / 10
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Secure == nil {
		cfg.Secure = func(r *http.Request) bool { return r.TLS != nil }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Manager{cfg: cfg, store: cfg.Backend, signer: newSigner(cfg.Keys), log: cfg.Logger}, nil
}

// Config returns the effective configuration.
func (m *Manager) Config() Config { return m.cfg }

func (m *Manager) sessionKey(sel string) string {
	return m.cfg.KeyPrefix + "s:{" + sel[:tagChars] + "}" + sel[tagChars:]
}

func (m *Manager) indexKey(user string) string { return m.cfg.KeyPrefix + "u:" + user }

func (m *Manager) expiresAt(created, seen time.Time) time.Time {
	idle := seen.Add(m.cfg.IdleTimeout)
	abs := created.Add(m.cfg.Lifetime)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

func (m *Manager) observe(op Op, outcome Outcome, start time.Time) {
	if m.cfg.Observer != nil {
		m.cfg.Observer.Op(op, outcome, time.Since(start))
	}
}

func outcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, ErrConflict):
		return OutcomeConflict
	case errors.Is(err, ErrGone):
		return OutcomeGone
	case errors.Is(err, ErrLimit):
		return OutcomeLimit
	default:
		return OutcomeError
	}
}

// storeErr marks a backend failure as ErrUnavailable, leaving the engine's
// own outcomes (gone, conflict, limit, exists) as they are.
func storeErr(op string, err error) error {
	if err == nil || errors.Is(err, ErrGone) || errors.Is(err, ErrConflict) ||
		errors.Is(err, ErrLimit) || errors.Is(err, ErrExists) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

func (m *Manager) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, m.cfg.Timeout)
}

// Ping tells whether the store answers (readiness).
func (m *Manager) Ping(ctx context.Context) error {
	ctx, cancel := m.ctx(ctx)
	defer cancel()
	return storeErr("ping", m.store.Ping(ctx))
}

// Load reads the session named by the request's cookie. A request without a
// valid cookie costs no store call; a cookie that is unsigned, tampered,
// expired or names no stored session gives an empty session whose id is
// never adopted. Only a store failure is an error (wrapping ErrUnavailable).
func (m *Manager) Load(r *http.Request, cookieName string) (*Session, error) {
	s := newSession(m, r, cookieName)
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return s, nil
	}
	start := time.Now()
	tok, stale, err := m.signer.decode(c.Value)
	if err != nil {
		s.clearCookie = true
		m.observe(OpLoad, OutcomeInvalid, start)
		return s, nil
	}
	ctx, cancel := m.ctx(r.Context())
	defer cancel()
	key := m.sessionKey(tok.selector)
	rec, found, err := m.store.Load(ctx, key)
	if err != nil {
		m.observe(OpLoad, OutcomeError, start)
		return nil, storeErr("load", err)
	}
	if !found || !verifierMatches(tok.verifier, rec[fieldVerifier]) {
		s.clearCookie = true
		m.observe(OpLoad, OutcomeMissing, start)
		return s, nil
	}
	now := m.cfg.Now()
	created, seen := msTime(rec[fieldCreated]), msTime(rec[fieldSeen])
	if created.IsZero() || seen.IsZero() || !now.Before(m.expiresAt(created, seen)) {
		// The store's TTL mirrors these deadlines; this catches clock skew
		// and stores without TTLs. Deleting is best effort.
		if err := m.store.Delete(ctx, key); err != nil {
			m.log.Warn("session: delete expired", "err", err)
		}
		s.clearCookie = true
		m.observe(OpLoad, OutcomeExpired, start)
		return s, nil
	}
	s.tok, s.stored, s.rec, s.resign = tok, true, rec, stale
	s.values = decodeValues(rec, m.log)
	s.touch = now.Sub(seen) >= m.cfg.TouchInterval
	m.observe(OpLoad, OutcomeOK, start)
	return s, nil
}

func decodeValues(rec Record, log *slog.Logger) map[string]any {
	values := make(map[string]any, len(rec))
	for k, raw := range rec {
		if strings.HasPrefix(k, "@") {
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			// A field this engine did not write; keep it out of the view
			// (and untouched in the store) rather than fail the request.
			log.Warn("session: undecodable field", "field", k)
			continue
		}
		values[k] = v
	}
	return values
}

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
		err := m.store.Delete(ctx, m.sessionKey(s.tok.selector))
		m.observe(OpDestroy, outcomeOf(err), start)
		if err != nil {
			return storeErr("destroy", err)
		}
		if u := s.rec[fieldUser]; u != "" {
			if err := m.store.IndexRemove(ctx, m.indexKey(u), s.tok.selector); err != nil {
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
	s.tok, s.stored, s.rec, s.values = token{}, false, nil, map[string]any{}
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
	var tok token
	var err error
	for range 3 {
		if tok, err = newToken(""); err != nil {
			return err
		}
		rec[fieldVerifier] = verifierHash(tok.verifier)
		var ix IndexOps
		if user != "" {
			ix = IndexOps{AddIndex: m.indexKey(user), AddMember: tok.selector, AddDeadline: now.Add(m.cfg.Lifetime)}
		}
		if err = m.store.Create(ctx, m.sessionKey(tok.selector), rec, m.expiresAt(now, now), ix); !errors.Is(err, ErrExists) {
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
	oldSel := s.tok.selector
	newTok := s.tok
	if s.renew {
		op = OpRegenerate
		if newTok, err = newToken(oldSel); err != nil {
			return err
		}
		d.Force = append(d.Force, FieldSet{Field: fieldVerifier, Value: verifierHash(newTok.verifier)})
		var ix IndexOps
		if newUser != "" {
			ix.AddIndex, ix.AddMember, ix.AddDeadline = m.indexKey(newUser), newTok.selector, s.Created().Add(m.cfg.Lifetime)
		}
		if oldUser != "" {
			ix.RemoveIndex, ix.RemoveMember = m.indexKey(oldUser), oldSel
		}
		results, err = m.store.Rename(ctx, m.sessionKey(oldSel), m.sessionKey(newTok.selector), d, ix)
	} else {
		results, err = m.store.Apply(ctx, m.sessionKey(oldSel), d)
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

// Reload discards s's pending changes and reads the session again: the way
// to retry after a conflict.
func (s *Session) Reload() error {
	fresh, err := s.m.Load(s.r, s.cookieName)
	if err != nil {
		return err
	}
	w := s.w
	*s = *fresh
	s.w = w
	return nil
}

func (m *Manager) cookie(s *Session, r *http.Request) *http.Cookie {
	c := &http.Cookie{
		Name:     s.cookieName,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   m.cfg.Secure(r),
	}
	if m.cfg.Permanent && s.stored {
		c.MaxAge = int(time.Until(s.Created().Add(m.cfg.Lifetime)).Seconds())
	}
	if o := s.options; o != nil {
		c.Path, c.Domain, c.HttpOnly, c.SameSite = o.Path, o.Domain, o.HttpOnly, o.SameSite
		c.Secure = o.Secure || c.Secure
		if o.MaxAge > 0 {
			c.MaxAge = o.MaxAge
		}
	}
	return c
}

func (m *Manager) setCookie(w http.ResponseWriter, s *Session) {
	if w == nil {
		return
	}
	c := m.cookie(s, s.r)
	c.Value = m.signer.encode(s.tok)
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

// ensure the adapter keeps satisfying gin-contrib's interface.
var _ sessions.Session = (*Session)(nil)
