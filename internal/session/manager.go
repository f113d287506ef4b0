package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Config configures a Manager. Zero durations take the documented defaults.
type Config struct {
	Backend Backend
	// Keys sign cookies: the first signs, every key verifies (rotation).
	// Each must be at least 32 bytes.
	Keys [][]byte
	// KeyPrefix is put before every store key (default "").
	KeyPrefix string
	// Cookie is the session cookie's policy (name, attributes, lifetime).
	Cookie Cookie
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
	signer Signer
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
	cfg.Cookie = cfg.Cookie.withDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Manager{cfg: cfg, store: cfg.Backend, signer: NewSigner(cfg.Keys), log: cfg.Logger}, nil
}

// Config returns the effective configuration.
func (m *Manager) Config() Config { return m.cfg }

// SessionKey is the store key of the session whose selector is sel.
func (m *Manager) SessionKey(sel string) string {
	return m.cfg.KeyPrefix + "s:{" + sel[:tagChars] + "}" + sel[tagChars:]
}

// IndexKey is the store key of user's index.
func (m *Manager) IndexKey(user string) string { return m.cfg.KeyPrefix + "u:" + user }

// StoreKey is the store key of the session a cookie value names, if the
// cookie is signed by one of the keys (no store call). For tests and tools.
func (m *Manager) StoreKey(cookieValue string) (string, bool) {
	tok, _, err := m.signer.Decode(cookieValue)
	if err != nil {
		return "", false
	}
	return m.SessionKey(tok.Selector), true
}

// Signer is the manager's cookie codec.
func (m *Manager) Signer() Signer { return m.signer }

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
func (m *Manager) Load(r *http.Request) (*Session, error) {
	return m.LoadCookie(r, m.cfg.Cookie.Name)
}

// LoadCookie is Load for a cookie of another name (adapters whose caller
// names the session, as gin-contrib's sessions.Sessions(name, store) does).
func (m *Manager) LoadCookie(r *http.Request, cookieName string) (*Session, error) {
	s := newSession(m, r, cookieName)
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return s, nil
	}
	start := time.Now()
	tok, stale, err := m.signer.Decode(c.Value)
	if err != nil {
		s.clearCookie = true
		m.observe(OpLoad, OutcomeInvalid, start)
		return s, nil
	}
	ctx, cancel := m.ctx(r.Context())
	defer cancel()
	key := m.SessionKey(tok.Selector)
	rec, found, err := m.store.Load(ctx, key)
	if err != nil {
		m.observe(OpLoad, OutcomeError, start)
		return nil, storeErr("load", err)
	}
	if !found || !verifierMatches(tok.Verifier, rec[fieldVerifier]) {
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
