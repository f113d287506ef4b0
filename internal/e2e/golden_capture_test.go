package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/redistest"
)

// Capturing a golden file: a release, alone on a fresh Redis, is driven
// through a known set of actions over HTTP; every key it left, and the
// devices' cookies and pages, are written to testdata/golden/<commit>.json.
// Run it by hand (docs/testing.md):
//
//	go test ./internal/e2e -run TestGoldenCapture -golden.capture [-golden.release=COMMIT|current]

var (
	goldenCapture = flag.Bool("golden.capture", false, "TestGoldenCapture: write a golden file (testdata/golden/<commit>.json)")
	goldenRelease = flag.String("golden.release", "", "the release TestGoldenCapture runs: a commit built from history; empty: the previous release (testdata/previous-release, PREVIOUS_RELEASE); current: this build")
	goldenLayout  = flag.Int("golden.layout", 0, "TestGoldenCapture: the STORE_LAYOUT the release writes (0: its default); the file is named <commit>-layout<N>.json")
)

// goldenEnv is the configuration of a capture, kept in the file. The key
// is public: it signs only the fixtures' cookies. Sessions last ten years,
// so the records stay live until the file is ten years old.
var goldenEnv = []string{
	"SESSION_SECRET=golden-fixtures-public-test-key-not-a-secret-0001",
	"SESSION_LIFETIME=87600h",
	"SESSION_IDLE_TIMEOUT=87600h",
	"LOGIN_RATE_LIMIT=1000",
}

// User-Agents of the captured devices: the sessions list shows a label
// made from each.
const (
	uaFirefoxLinux  = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	uaSafariIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	uaChromeWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)

func TestGoldenCapture(t *testing.T) {
	if !*goldenCapture {
		t.Skip("writes a golden file; run by hand with -golden.capture (docs/testing.md)")
	}
	if testing.Short() {
		t.Fatal("-golden.capture needs the built server: run without -short")
	}
	commit, bin := goldenSubject(t)
	env, name := goldenEnv, commit[:min(7, len(commit))]
	if *goldenLayout != 0 {
		env = append(slices.Clone(goldenEnv), fmt.Sprintf("STORE_LAYOUT=%d", *goldenLayout))
		name += fmt.Sprintf("-layout%d", *goldenLayout)
	}
	rd := redistest.Start(t)
	base := startGoldenServer(t, bin, rd.URL(), env, "golden")
	tg := target{id: "golden", url: base}
	tl := newTally()
	u := newUsers(tl, func(string) string { return "" })
	dev := func(name, label, ua string) *device {
		d := newDevice(name, label)
		d.ua = ua
		return d
	}
	remove := func(d *device, item string) {
		u.change(d, tg, "/cart/remove", url.Values{"item": {item}}, func() { delete(d.cart, item) })
	}

	// A theme and a cart of several items, one added and removed again.
	alice := dev("alice", "alice", uaFirefoxLinux)
	u.login(alice, tg)
	u.setTheme(alice, tg, "dark")
	u.add(alice, tg, "apple", 3)
	u.add(alice, tg, "Earl Grey", 2)
	u.add(alice, tg, "pear", 1)
	u.add(alice, tg, "banana", 2)
	remove(alice, "banana")
	// Two sessions of one name, each with its own data.
	phone, laptop := dev("bob", "bob/phone", uaSafariIPhone), dev("bob", "bob/laptop", uaChromeWindows)
	u.login(phone, tg)
	u.setTheme(phone, tg, "light")
	u.add(phone, tg, "milk", 1)
	u.login(laptop, tg)
	u.add(laptop, tg, "bread", 2)
	// Signed in again with its cookie: a new id, the data kept, and the
	// old key forwarding to the new one.
	carol := dev("carol", "carol", uaFirefoxLinux)
	u.login(carol, tg)
	u.add(carol, tg, "fig", 5)
	u.setTheme(carol, tg, "light")
	forwarded := carol.cookie
	u.login(carol, tg)
	if carol.cookie == forwarded {
		t.Fatal("carol: signing in again kept the cookie; want a new one")
	}
	// A name only, and a name and an item beyond ASCII.
	dave := dev("dave", "dave", uaChromeWindows)
	u.login(dave, tg)
	zoe := dev("Zoë 🍵", "zoe", uaSafariIPhone)
	u.login(zoe, tg)
	u.setTheme(zoe, tg, "dark")
	u.add(zoe, tg, "crème brûlée", 1)
	// An anonymous visitor stores nothing: its cart add is sent to sign in.
	anon := dev("", "anonymous", uaFirefoxLinux)
	if a := u.send(anon, tg, http.MethodPost, "/cart/add", url.Values{"item": {"apple"}}, false); a.status/100 != 3 || a.location != "/login" {
		t.Errorf("anonymous cart add = %d to %q, want a redirect to /login", a.status, a.location)
	}

	devices := []*device{alice, phone, laptop, carol, dave, zoe}
	g := &goldenFile{
		Release:    commit,
		CapturedAt: time.Now().UTC().Truncate(time.Second),
		About: "Every Redis key that release's cmd/server left after the actions of TestGoldenCapture " +
			"(golden_capture_test.go), with the devices' cookies and what each showed. TestGoldenRecords " +
			"restores them and holds the current build to them.",
		Env: env,
	}
	for _, d := range devices {
		u.me(d, tg) // what it shows is what it was acknowledged
		me := getMe(t, u, d, tg)
		if me == nil {
			continue
		}
		gd := goldenDevice{Label: d.label, Name: d.name, UserAgent: d.ua, Cookie: d.cookie, Me: *me, Sessions: getSessions(t, u, d, tg)}
		if d == carol {
			gd.ForwardedCookie = forwarded
		}
		g.Devices = append(g.Devices, gd)
	}
	tl.report(t)
	if t.Failed() {
		t.FailNow()
	}
	g.Keys = dumpKeys(t, rd.Client(t))

	out := filepath.Join(goldenDir, name+".json")
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("release %s: %d keys, %d devices written to %s", commit, len(g.Keys), len(g.Devices), out)
}

// goldenSubject is the commit and binary -golden.release names.
func goldenSubject(t *testing.T) (commit, bin string) {
	t.Helper()
	switch *goldenRelease {
	case "":
		commit = previousRelease(t)
	case "current":
		head, err := git("rev-parse", "HEAD")
		if err != nil {
			t.Fatal(err)
		}
		if dirty, _ := git("status", "--porcelain", "--untracked-files=no"); dirty != "" {
			t.Fatal("-golden.release=current: the work tree has changes; commit them first, so the file names what wrote it")
		}
		return strings.TrimSpace(head), serverBinary
	default:
		var err error
		if commit, err = resolveCommit(*goldenRelease); err != nil {
			t.Fatal(err)
		}
	}
	return commit, releaseBinary(t, commit)
}

// dumpKeys reads every key of the database, sorted by name.
func dumpKeys(t *testing.T, c *redis.Client) []goldenKey {
	t.Helper()
	ctx := context.Background()
	var names []string
	iter := c.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		names = append(names, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("SCAN: %v", err)
	}
	slices.Sort(names)
	var out []goldenKey
	for _, name := range names {
		k, err := dumpKey(ctx, c, name)
		if err != nil {
			t.Fatalf("key %q: %v", name, err)
		}
		out = append(out, k)
	}
	return out
}

func dumpKey(ctx context.Context, c *redis.Client, name string) (goldenKey, error) {
	k := keyNamed(name)
	var err error
	if k.Type, err = c.Type(ctx, name).Result(); err != nil {
		return k, err
	}
	if k.PTTL, err = c.Do(ctx, "PTTL", name).Int64(); err != nil {
		return k, err
	}
	if k.PTTL >= 0 {
		if k.ExpireAtMS, err = c.Do(ctx, "PEXPIRETIME", name).Int64(); err != nil {
			return k, err
		}
	}
	encAll := func(vs []string) []string {
		for i, v := range vs {
			vs[i] = b64(v)
		}
		return vs
	}
	switch k.Type {
	case "string":
		v, err := c.Get(ctx, name).Result()
		k.String = b64(v)
		return k, err
	case "hash":
		m, err := c.HGetAll(ctx, name).Result()
		k.Hash = map[string]string{}
		for f, v := range m {
			k.Hash[b64(f)] = b64(v)
		}
		return k, err
	case "list":
		vs, err := c.LRange(ctx, name, 0, -1).Result()
		k.List = encAll(vs)
		return k, err
	case "set":
		vs, err := c.SMembers(ctx, name).Result()
		slices.Sort(vs)
		k.Set = encAll(vs)
		return k, err
	case "zset":
		zs, err := c.ZRangeWithScores(ctx, name, 0, -1).Result()
		for _, z := range zs {
			k.ZSet = append(k.ZSet, goldenMember{Member: b64(fmt.Sprint(z.Member)), Score: z.Score})
		}
		return k, err
	}
	return k, fmt.Errorf("type %q: the capture knows string, hash, list, set and zset", k.Type)
}
