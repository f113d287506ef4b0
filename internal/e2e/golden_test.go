package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/procs"
	"github.com/sessiond/sessiond/internal/redistest"
)

// Golden records: every Redis key a release left after a known set of
// actions (testdata/golden/<commit>.json, made by TestGoldenCapture), with
// the cookies of its users and what each must show. TestGoldenRecords
// restores them into a fresh Redis and holds this build to them: a change
// of the engine that cannot read what a release in the field wrote signs
// those users out, and fails here.

const goldenDir = "testdata/golden"

// shortLived is the longest expiry, at capture, of a key that is restored
// with its remaining time counted afresh (a renamed session's forward, a
// login rate-limit window): it would have passed long ago. A longer one
// keeps its absolute expiry.
const shortLived = time.Hour

// goldenFile is one capture.
type goldenFile struct {
	// Release is the commit whose build wrote the keys.
	Release    string    `json:"release"`
	CapturedAt time.Time `json:"captured_at"`
	About      string    `json:"about"`
	// Env is the replica's configuration (besides ADDR, REDIS_URL and
	// REPLICA_ID); the check runs this build with it.
	Env     []string       `json:"env"`
	Keys    []goldenKey    `json:"keys"`
	Devices []goldenDevice `json:"devices"`
}

// goldenKey is one key as DUMP-free data: its type, expiry and value.
// Binary strings (hash fields and values, strings, members) are base64.
type goldenKey struct {
	Key string `json:"key"`
	// KeyB64 replaces Key when the key is not valid UTF-8.
	KeyB64 string `json:"key_b64,omitempty"`
	Type   string `json:"type"`
	// PTTL is the time left at capture, in ms (-1: no expiry);
	// ExpireAtMS is the absolute expiry (PEXPIRETIME), unix ms.
	PTTL       int64             `json:"pttl_ms"`
	ExpireAtMS int64             `json:"expire_at_ms,omitempty"`
	String     string            `json:"string,omitempty"`
	Hash       map[string]string `json:"hash,omitempty"`
	List       []string          `json:"list,omitempty"`
	Set        []string          `json:"set,omitempty"`
	ZSet       []goldenMember    `json:"zset,omitempty"`
}

type goldenMember struct {
	Member string  `json:"member"`
	Score  float64 `json:"score"`
}

func (k goldenKey) name() (string, error) {
	if k.KeyB64 == "" {
		return k.Key, nil
	}
	b, err := base64.StdEncoding.DecodeString(k.KeyB64)
	return string(b), err
}

func keyNamed(name string) goldenKey {
	if utf8.ValidString(name) {
		return goldenKey{Key: name}
	}
	return goldenKey{Key: strings.ToValidUTF8(name, "?"), KeyB64: b64(name)}
}

// goldenDevice is one browser of the capture: its cookie and what it
// showed then.
type goldenDevice struct {
	Label     string `json:"label"`
	Name      string `json:"name"`
	UserAgent string `json:"user_agent"`
	Cookie    string `json:"cookie"`
	// ForwardedCookie is the cookie it had before it signed in again: the
	// key it named forwards to the new one for a short while.
	ForwardedCookie string          `json:"forwarded_cookie,omitempty"`
	Me              goldenMe        `json:"me"`
	Sessions        []goldenSession `json:"sessions"`
}

// goldenMe is what GET /api/me showed, less the session's times.
type goldenMe struct {
	Name        string         `json:"name"`
	Theme       string         `json:"theme"`
	ThemeChoice string         `json:"theme_choice"`
	Cart        map[string]int `json:"cart"`
}

// goldenSession is one entry of GET /api/sessions.
type goldenSession struct {
	ID        string `json:"id"`
	Device    string `json:"device"`
	CreatedAt string `json:"created_at"`
	Current   bool   `json:"current"`
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func unb64(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	return string(b), err
}

func readGolden(path string) (*goldenFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var g goldenFile
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &g, nil
}

// TestGoldenRecords: for each golden file, this build, started on a
// fresh Redis holding the file's keys, serves every captured device as it
// was: the same name, theme and cart, the same sessions listed; a cart add
// is kept; a session revoked by its listed id ends; the cookie a re-login
// replaced is read as a forward (no session, and not expired), and a
// logout with it ends the renamed session; revoke-all ends every session
// of the name.
func TestGoldenRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the built server: run make test")
	}
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files in %s (%v): capture one, see docs/testing.md", goldenDir, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			g, err := readGolden(path)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, g)
		})
	}
}

func checkGolden(t *testing.T, g *goldenFile) {
	rd := redistest.Start(t)
	restoreKeys(t, rd.Client(t), g.Keys)
	base := startGoldenServer(t, serverBinary, rd.URL(), g.Env, "current")
	t.Logf("%d keys of release %.7s (captured %s) restored; this build serving them", len(g.Keys), g.Release, g.CapturedAt.Format(time.DateOnly))

	tl := newTally()
	u := newUsers(tl, func(string) string { return "" })
	tg := target{id: "current", url: base}
	devs := map[string]*device{}
	byName := map[string][]goldenDevice{}
	for _, gd := range g.Devices {
		d := newDevice(gd.Name, gd.Label)
		d.cookie, d.ua = gd.Cookie, gd.UserAgent
		d.signedInOn = fmt.Sprintf("%.7s (golden)", g.Release)
		devs[gd.Label] = d
		byName[gd.Name] = append(byName[gd.Name], gd)
	}

	// First the cookies that a re-login replaced: their keys forward to the
	// new ones for seconds only.
	loggedOut := map[string]bool{}
	for _, gd := range g.Devices {
		if gd.ForwardedCookie == "" {
			continue
		}
		old := newDevice(gd.Name, gd.Label+" (forwarded cookie)")
		old.cookie, old.ua = gd.ForwardedCookie, gd.UserAgent
		a := u.send(old, tg, http.MethodGet, "/", nil, true)
		if a.status/100 != 3 || a.location != "/login" {
			t.Errorf("%s: GET / with the cookie a re-login replaced = %d to %q, want a redirect to /login: no session of its own", gd.Label, a.status, a.location)
		}
		// Read as a forward, the old cookie is left alone: expiring it
		// would delete the browser's new cookie of the same name. Read as
		// a missing session, it is expired.
		if c := a.sessionCookie; c != nil {
			t.Errorf("%s: GET / with the cookie a re-login replaced set %q, want no Set-Cookie: the forward was not recognised",
				gd.Label, c.String())
		}
		// A logout with it (sent before the re-login's answer came back)
		// ends the session the re-login renamed it to.
		if a := u.send(old, tg, http.MethodPost, "/logout", nil, true); a.status != http.StatusSeeOther || a.location != "/login" {
			t.Errorf("%s: POST /logout with the cookie a re-login replaced = %d to %q, want 303 to /login", gd.Label, a.status, a.location)
		}
		if ok, _ := u.stillSignedIn(gd.Label, gd.Cookie, tg); ok {
			t.Errorf("%s: still signed in after a logout with the cookie its re-login replaced", gd.Label)
		}
		loggedOut[gd.Label] = true
	}

	// Every device as it was; then a change is kept.
	for _, gd := range g.Devices {
		if loggedOut[gd.Label] {
			continue
		}
		d := devs[gd.Label]
		if me := getMe(t, u, d, tg); me != nil && !sameMe(*me, gd.Me) {
			t.Errorf("%s: GET /api/me = %+v, want %+v as captured", gd.Label, *me, gd.Me)
		}
		u.view(d, tg)
		if got := getSessions(t, u, d, tg); !sameSessions(got, gd.Sessions) {
			t.Errorf("%s: GET /api/sessions = %+v, want %+v as captured", gd.Label, got, gd.Sessions)
		}
		d.cart = maps.Clone(gd.Me.Cart)
		if d.cart == nil {
			d.cart = map[string]int{}
		}
		if gd.Me.ThemeChoice != "system" {
			d.theme = gd.Me.Theme
		}
		u.add(d, tg, "golden check", 1)
		u.me(d, tg)
	}

	// Revoke one session by the id listed, then all of the name.
	for name, gds := range byName {
		if len(gds) > 1 {
			victim := gds[1]
			id := victim.Sessions[slices.IndexFunc(victim.Sessions, func(s goldenSession) bool { return s.Current })].ID
			a := u.send(devs[gds[0].Label], tg, http.MethodPost, "/sessions/revoke", url.Values{"id": {id}}, false)
			if a.status != http.StatusSeeOther {
				t.Errorf("%s: POST /sessions/revoke of %s's listed id = %d, want 303: %s", gds[0].Label, victim.Label, a.status, firstLine(a.body))
			}
			if ok, _ := u.stillSignedIn(victim.Label, victim.Cookie, tg); ok {
				t.Errorf("%s: still signed in after %s revoked its listed id %s", victim.Label, gds[0].Label, id)
			}
		}
		a := u.send(devs[gds[0].Label], tg, http.MethodPost, "/sessions/revoke-all", nil, true)
		if a.status != http.StatusSeeOther || a.location != "/login" {
			t.Errorf("%s: POST /sessions/revoke-all = %d to %q, want 303 to /login", gds[0].Label, a.status, a.location)
		}
		for _, gd := range gds {
			if ok, _ := u.stillSignedIn(gd.Label, gd.Cookie, tg); ok {
				t.Errorf("%s: still signed in after revoke-all of %q", gd.Label, name)
			}
		}
		fresh := newDevice(name, name+" (new sign-in)")
		u.login(fresh, tg)
		checkOnlySession(u, tl, fresh, tg, "revoke-all")
	}
	t.Log(tl.counts())
	tl.report(t)
}

func sameMe(a, b goldenMe) bool {
	if len(a.Cart) == 0 && len(b.Cart) == 0 {
		a.Cart, b.Cart = nil, nil
	}
	return a.Name == b.Name && a.Theme == b.Theme && a.ThemeChoice == b.ThemeChoice && maps.Equal(a.Cart, b.Cart)
}

func sameSessions(a, b []goldenSession) bool {
	key := func(s goldenSession) string { return s.ID }
	sort := func(l []goldenSession) []goldenSession {
		l = slices.Clone(l)
		slices.SortFunc(l, func(x, y goldenSession) int { return strings.Compare(key(x), key(y)) })
		return l
	}
	return slices.Equal(sort(a), sort(b))
}

// getMe is GET /api/me of d, nil (and the test failed) unless 200.
func getMe(t *testing.T, u *users, d *device, tg target) *goldenMe {
	t.Helper()
	a := u.send(d, tg, http.MethodGet, "/api/me", nil, false)
	if a.status != http.StatusOK {
		t.Errorf("%s: GET /api/me = %d, want 200 (signed in as captured): %s", d.label, a.status, firstLine(a.body))
		return nil
	}
	var me goldenMe
	if err := json.Unmarshal(a.body, &me); err != nil {
		t.Errorf("%s: GET /api/me: %v", d.label, err)
		return nil
	}
	return &me
}

// getSessions is GET /api/sessions of d (nil unless 200).
func getSessions(t *testing.T, u *users, d *device, tg target) []goldenSession {
	t.Helper()
	a := u.send(d, tg, http.MethodGet, "/api/sessions", nil, false)
	if a.status != http.StatusOK {
		t.Errorf("%s: GET /api/sessions = %d, want 200: %s", d.label, a.status, firstLine(a.body))
		return nil
	}
	var list []goldenSession
	if err := json.Unmarshal(a.body, &list); err != nil {
		t.Errorf("%s: GET /api/sessions: %v", d.label, err)
	}
	return list
}

// restoreKeys writes keys into an empty Redis: their values, then their
// expiry: absolute for long-lived keys, the captured time left counted
// from now for short-lived ones (see shortLived).
func restoreKeys(t *testing.T, c *redis.Client, keys []goldenKey) {
	t.Helper()
	ctx := context.Background()
	names := make([]string, len(keys))
	for i, k := range keys {
		name, err := k.name()
		if err != nil {
			t.Fatalf("key %q: %v", k.Key, err)
		}
		if err := restoreValue(ctx, c, name, k); err != nil {
			t.Fatalf("restoring %s %q: %v", k.Type, k.Key, err)
		}
		names[i] = name
	}
	// Counted before any expiry is set: a short-lived key may pass soon.
	if n, err := c.DBSize(ctx).Result(); err != nil || n != int64(len(keys)) {
		t.Fatalf("Redis holds %d keys (%v) after restoring %d", n, err, len(keys))
	}
	now := time.Now()
	for i, k := range keys {
		var err error
		switch left := time.Duration(k.PTTL) * time.Millisecond; {
		case k.PTTL < 0:
			// no expiry
		case left < shortLived:
			err = c.PExpire(ctx, names[i], left).Err()
		case k.ExpireAtMS <= now.UnixMilli():
			t.Fatalf("key %q expired at %s: the golden file is too old; capture it again (docs/testing.md)",
				k.Key, time.UnixMilli(k.ExpireAtMS).UTC())
		default:
			err = c.PExpireAt(ctx, names[i], time.UnixMilli(k.ExpireAtMS)).Err()
		}
		if err != nil {
			t.Fatalf("expiry of %q: %v", k.Key, err)
		}
	}
}

func restoreValue(ctx context.Context, c *redis.Client, name string, k goldenKey) error {
	dec := func(list []string) ([]any, error) {
		out := make([]any, len(list))
		for i, s := range list {
			v, err := unb64(s)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	switch k.Type {
	case "string":
		v, err := unb64(k.String)
		if err != nil {
			return err
		}
		return c.Set(ctx, name, v, 0).Err()
	case "hash":
		var args []any
		for f, v := range k.Hash {
			fd, err := unb64(f)
			if err != nil {
				return err
			}
			vd, err := unb64(v)
			if err != nil {
				return err
			}
			args = append(args, fd, vd)
		}
		return c.HSet(ctx, name, args...).Err()
	case "list":
		vs, err := dec(k.List)
		if err != nil {
			return err
		}
		return c.RPush(ctx, name, vs...).Err()
	case "set":
		vs, err := dec(k.Set)
		if err != nil {
			return err
		}
		return c.SAdd(ctx, name, vs...).Err()
	case "zset":
		var zs []redis.Z
		for _, m := range k.ZSet {
			v, err := unb64(m.Member)
			if err != nil {
				return err
			}
			zs = append(zs, redis.Z{Member: v, Score: m.Score})
		}
		return c.ZAdd(ctx, name, zs...).Err()
	}
	return fmt.Errorf("type %q: not one the golden files hold", k.Type)
}

// startGoldenServer runs bin, alone, on a free loopback port against
// redisURL with env, until the test ends; it returns its base URL.
func startGoldenServer(t *testing.T, bin, redisURL string, env []string, id string) string {
	t.Helper()
	addr, err := procs.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keepLogsOnFailure(t, dir)
	log, err := procs.OpenLog(filepath.Join(dir, id+".log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	full := append(slices.Clone(env), "REDIS_URL="+redisURL, "ADDR="+addr, "REPLICA_ID="+id, "LOG_FORMAT=json")
	p, err := procs.StartServer(procs.Server{Name: "replica " + id, Bin: bin, Env: full, Out: log, URL: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(syscall.SIGTERM, 15*time.Second) })
	return "http://" + addr
}
