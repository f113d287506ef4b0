package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Config configures a Manager. Zero values take the documented defaults.
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
	// TouchInterval is how often last-seen (and the store's expiry) is
	// refreshed (default IdleTimeout/10). Requests in between write no
	// metadata, so a session may end up to this much before IdleTimeout
	// after its last use.
	TouchInterval time.Duration
	// MaxPerUser is the most live sessions one user (name) has: a new
	// login beyond it ends the one closest to its expiry, the least
	// recently used (default 50).
	MaxPerUser int
	// ClockSkew is how far this replica's clock may be off the store's.
	// Expiry is decided by the store's clock; this replica only refuses a
	// session as expired by its own clock when it is more than ClockSkew
	// past its end (and then deletes nothing and keeps the cookie), and
	// on Redis Cluster index deadlines carry this margin (default 1m).
	ClockSkew time.Duration
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
	write  Layout               // the layout new sessions are stored in: cfg.Backend's
	stores [Layout2 + 1]Backend // by layout: every layout this release reads
	signer Signer
	log    *slog.Logger

	warnUnverified, warnClock, warnUnreadable rateLimitedLog
}

// NewManager checks cfg and returns a Manager.
func NewManager(cfg Config) (*Manager, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	write := cfg.Backend.Layout()
	m := &Manager{cfg: cfg, write: write, signer: NewSigner(cfg.Keys, write), log: cfg.Logger}
	for _, l := range Layouts() {
		m.stores[l] = cfg.Backend.ForLayout(l)
	}
	return m, nil
}

// check refuses what no default can make good.
func (cfg Config) check() error {
	switch {
	case cfg.Backend == nil:
		return errors.New("session: no backend")
	case !cfg.Backend.Layout().Known():
		return fmt.Errorf("session: the backend writes %v, which this release does not know", cfg.Backend.Layout())
	case len(cfg.Keys) == 0:
		return errors.New("session: no signing key")
	case strings.ContainsAny(cfg.KeyPrefix, "{}"):
		// A brace would make the prefix the Cluster hash tag: every key in
		// one slot.
		return fmt.Errorf("session: key prefix %q may not contain { or }", cfg.KeyPrefix)
	}
	for i, k := range cfg.Keys {
		if len(k) < 32 {
			return fmt.Errorf("session: signing key %d is %d bytes, want at least 32", i+1, len(k))
		}
	}
	return nil
}

// withDefaults is cfg with the documented defaults for its zero values.
func (cfg Config) withDefaults() Config {
	orDefault := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	orDefault(&cfg.Lifetime, 24*time.Hour)
	orDefault(&cfg.IdleTimeout, time.Hour)
	cfg.IdleTimeout = min(cfg.IdleTimeout, cfg.Lifetime)
	orDefault(&cfg.TouchInterval, cfg.IdleTimeout/10)
	orDefault(&cfg.ClockSkew, time.Minute)
	orDefault(&cfg.Timeout, time.Second)
	if cfg.MaxPerUser <= 0 {
		cfg.MaxPerUser = 50
	}
	cfg.Cookie = cfg.Cookie.withDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// Layout is the layout new sessions are stored in (the backend's).
func (m *Manager) Layout() Layout { return m.write }

// store is the backend for the records of layout l.
func (m *Manager) store(l Layout) Backend { return m.stores[l] }

// Config returns the effective configuration.
func (m *Manager) Config() Config { return m.cfg }

// SessionKey is the store key of the session whose selector is sel, in
// the layout new sessions are written in (see sessionKey).
func (m *Manager) SessionKey(sel string) string { return m.sessionKey(m.write, sel) }

// sessionKey is the key of the session whose selector is sel in layout l.
// Its hash tag is the selector's first characters, which a regenerate
// keeps, so a session's old and new keys share a Redis Cluster slot.
func (m *Manager) sessionKey(l Layout, sel string) string { return m.sessionKeys(l).Of(sel) }

// sessionKeys are the keys of layout l's sessions.
func (m *Manager) sessionKeys(l Layout) SessionKeys {
	return SessionKeys{Prefix: m.cfg.KeyPrefix + l.Namespace() + "s:"}
}

// Index is where user's sessions of the layout new sessions are written
// in are listed (see indexOf).
func (m *Manager) Index(user string) IndexRef { return m.indexOf(m.write, user) }

// indexOf is where user's sessions of layout l are listed: a field (the
// first 8 bytes of the SHA-256 of the name) of one of 256 index maps
// (chosen by the first), so a user with one session costs a few dozen
// bytes, not a key. The maps of all layouts share their hash tags: one
// user's indexes are in one Redis Cluster slot.
func (m *Manager) indexOf(l Layout, user string) IndexRef {
	sum := sha256.Sum256([]byte("user|" + user))
	return IndexRef{Key: m.cfg.KeyPrefix + l.Namespace() + "u:{" + hex.EncodeToString(sum[:1]) + "}", Field: string(sum[:8])}
}

// StoreKey is the store key of the session a cookie value names, if the
// cookie is signed by one of the keys (no store call). For tests and tools.
func (m *Manager) StoreKey(cookieValue string) (string, bool) {
	tok, _, err := m.signer.Decode(cookieValue)
	if err != nil {
		return "", false
	}
	return m.sessionKey(tok.Layout, tok.Selector), true
}

// Signer is the manager's cookie codec.
func (m *Manager) Signer() Signer { return m.signer }

// Fingerprint is a short, safe-to-log name of a signing key: the first 8
// hex digits of SHA-256("sessiond signing key:" + key). Replicas whose
// fingerprints differ do not share keys; it helps nobody guess a key of
// 32 bytes or more. The same on the command line:
//
//	printf 'sessiond signing key:%s' "$KEY" | sha256sum | cut -c1-8
func Fingerprint(key []byte) string {
	sum := sha256.Sum256(append([]byte("sessiond signing key:"), key...))
	return hex.EncodeToString(sum[:4])
}

// expiry is the expiry rule of a stored session.
func (m *Manager) expiry(md meta) Expiry {
	return Expiry{Idle: m.cfg.IdleTimeout, Deadline: md.created.Add(m.cfg.Lifetime), Skew: m.cfg.ClockSkew}
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
	return storeErr("ping", m.cfg.Backend.Ping(ctx))
}

// Load reads the session named by the request's cookie. A request without a
// valid cookie costs no store call; a cookie that is malformed, tampered,
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
	switch {
	case errors.Is(err, errUnverified):
		// Tampered with, or signed by a key this replica lacks (a
		// misconfigured SESSION_SECRET): no session here, but the cookie
		// is left alone, since other replicas may verify it.
		m.warnUnverified.log(m.log, "session: a cookie's signature matches none of this replica's keys; if this repeats, SESSION_SECRET differs between replicas",
			"key_fingerprints", m.fingerprints())
		m.observe(OpLoad, OutcomeUnverified, start)
		return s, nil
	case err != nil:
		s.refuse(true)
		m.observe(OpLoad, OutcomeMalformed, start)
		return s, nil
	}
	ctx, cancel := m.ctx(r.Context())
	defer cancel()
	rec, found, err := m.store(tok.Layout).Load(ctx, m.sessionKey(tok.Layout, tok.Selector))
	switch {
	case errors.Is(err, ErrMoved):
		// Renamed a moment ago by a login of this very cookie (a
		// double-submitted form, or a request racing it): the browser
		// holds, or is about to hold, the new cookie. No session here,
		// and the cookie is left alone, which would otherwise delete the
		// new one; a logout still ends what it was renamed to.
		s.renamed(tok)
		m.observe(OpLoad, OutcomeMoved, start)
		return s, nil
	case err != nil:
		m.observe(OpLoad, OutcomeError, start)
		return nil, storeErr("load", err)
	case !found:
		s.refuse(true)
		m.observe(OpLoad, OutcomeMissing, start)
		return s, nil
	}
	outcome := m.judge(s, tok, rec, stale)
	m.observe(OpLoad, outcome, start)
	return s, nil
}

// judge decides whether the stored record rec is the session tok names,
// and adopts it into s when it is.
func (m *Manager) judge(s *Session, tok Token, rec Record, stale bool) Outcome {
	md, ok := metaOf(rec)
	switch {
	case !ok:
		// A record this release cannot read: written by another release
		// (or damaged). No session here, and the cookie is left alone:
		// a replica that reads it may serve the next request.
		m.warnUnreadable.log(m.log, "session: a stored session is in a form this release does not read; is a newer release writing it?",
			"layout", tok.Layout.String())
		return OutcomeUnreadable
	case !verifierMatches(tok.Verifier, md.verifier):
		s.refuse(true)
		return OutcomeMismatch
	}
	now := m.cfg.Now()
	// The store expires sessions by its own clock; this one only refuses
	// what is past its end by more than the skew it tolerates.
	if end := m.expiry(md).At(md.seen); now.Sub(end) > m.cfg.ClockSkew {
		m.warnClock.log(m.log, "session: a session the store still holds is past its end by this replica's clock; is this replica's clock ahead?",
			"past_end", now.Sub(end).Round(time.Second).String(), "tolerated", m.cfg.ClockSkew.String())
		return OutcomeExpired
	}
	// A clock far behind the store's would never see a touch come due:
	// such a replica touches on every request instead.
	age := now.Sub(md.seen)
	if age < -m.cfg.ClockSkew {
		m.warnClock.log(m.log, "session: last-seen is ahead of this replica's clock; is this replica's clock behind?",
			"ahead", (-age).Round(time.Second).String(), "tolerated", m.cfg.ClockSkew.String())
	}
	s.adopt(tok, rec, md, stale, age >= m.cfg.TouchInterval || age < -m.cfg.TouchInterval)
	return OutcomeOK
}

func (m *Manager) fingerprints() []string {
	out := make([]string, len(m.cfg.Keys))
	for i, k := range m.cfg.Keys {
		out[i] = Fingerprint(k)
	}
	return out
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

// rateLimitedLog writes a warning at most once a minute.
type rateLimitedLog struct {
	last atomic.Int64 // unix nanoseconds of the last line
}

func (l *rateLimitedLog) log(log *slog.Logger, msg string, args ...any) {
	now := time.Now().UnixNano()
	last := l.last.Load()
	if now-last < int64(time.Minute) || !l.last.CompareAndSwap(last, now) {
		return
	}
	log.Warn(msg, args...)
}
