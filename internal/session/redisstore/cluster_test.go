package redisstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/redisconn"
	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/ginsession"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

// The engine on a three-master Redis Cluster. Subtests share the cluster
// (each with its own key prefix); "replicas" are Managers on separate
// ClusterClients, opened from the different REDIS_URL forms. Each subtest
// also runs alone: go test -run 'TestCluster/Expiry$'.
func TestCluster(t *testing.T) {
	t.Parallel()
	cl := startClusterSuite(t)
	// These two first and not in parallel: they count every key and
	// command of a node.
	t.Run("SessionsSpreadOverAllMasters", cl.sessionsSpreadOverAllMasters)
	t.Run("CommandsPerRequest", cl.commandsPerRequest)
	// The rest run in parallel, each under its own key prefix.
	t.Run("LoginRegenerateStaysInOneSlot", cl.loginRegenerateStaysInOneSlot)
	t.Run("CrossReplica", cl.crossReplica)
	t.Run("ConcurrentIncrements", cl.concurrentIncrements)
	t.Run("DifferentFieldChangesBothKept", cl.differentFieldChangesBothKept)
	t.Run("LogoutRacingWritesLeavesNothing", cl.logoutRacingWritesLeavesNothing)
	t.Run("RevokeAllAcrossSlots", cl.revokeAllAcrossSlots)
	t.Run("Expiry", cl.expiry)
	t.Run("WaitRoutesToTheKeysMaster", cl.waitRoutesToTheKeysMaster)
	t.Run("GinContribConformance", cl.ginContribConformance)
}

// clusterSuite is what TestCluster's subtests share: the cluster, and a
// client of its own that looks at keys directly.
type clusterSuite struct {
	*redistest.Cluster
	admin *redis.ClusterClient
}

func startClusterSuite(t *testing.T) *clusterSuite {
	c := redistest.StartCluster(t)
	return &clusterSuite{Cluster: c, admin: c.Client(t)}
}

// openCluster opens url as the service does, and fails unless that gives
// a ClusterClient.
func openCluster(t *testing.T, url string) redis.UniversalClient {
	t.Helper()
	c, err := redisconn.Open(url, redisconn.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, ok := c.(*redis.ClusterClient); !ok {
		t.Fatalf("%s opened a %T, want a ClusterClient", url, c)
	}
	return c
}

// replicas are three service replicas under prefix, each on a client of
// its own, opened from another REDIS_URL form: the cluster's and two seeds.
func (cl *clusterSuite) replicas(t *testing.T, prefix string, mod func(*session.Config)) []*sessiontest.App {
	var apps []*sessiontest.App
	for _, u := range []string{cl.URL(), cl.SeedURL(1), cl.SeedURL(2)} {
		apps = append(apps, sessiontest.NewApp(t, sessiontest.MustManager(t, New(openCluster(t, u)), prefix, mod)))
	}
	return apps
}

// exists tells whether key holds a session (a renamed session's old
// key holds a forward for a while, which is no session).
func (cl *clusterSuite) exists(t *testing.T, key string) bool {
	t.Helper()
	held, err := cl.admin.HExists(context.Background(), key, session.MetaField).Result()
	if err != nil {
		t.Fatal(err)
	}
	return held
}

// Not parallel: DBSIZE counts every key of a node.
func (cl *clusterSuite) sessionsSpreadOverAllMasters(t *testing.T) {
	a := cl.replicas(t, redistest.Prefix(t), nil)
	before := cl.DBSizes(t)
	const n = 300
	indexes := map[string]bool{}
	for i := range n {
		// 6 users of 50 sessions each: the most one user keeps
		name := fmt.Sprintf("spread%d", i%6)
		indexes[a[0].M.Index(name).Key] = true
		a[i%3].Login(name)
	}
	after := cl.DBSizes(t)
	var total int64
	for i := range after {
		d := after[i] - before[i]
		total += d
		// 100 expected per node; 50 is more than 6 standard deviations off
		if d < 50 {
			t.Errorf("node %d got %d of %d sessions", i, d, n)
		}
	}
	t.Logf("%d sessions + %d index keys: new keys per master %v", n, len(indexes), []int64{after[0] - before[0], after[1] - before[1], after[2] - before[2]})
	if total != int64(n+len(indexes)) {
		t.Errorf("%d new keys, want %d sessions and %d index keys", total, n, len(indexes))
	}
}

// Not parallel: the cluster's command statistics count every client's.
func (cl *clusterSuite) commandsPerRequest(t *testing.T) {
	srv := redistest.Start(t)
	single := clusterCommandCounts(t, open1(t, srv.URL()), func() map[string]int64 {
		return redistest.CommandStats(t, srv.Client(t))
	})
	clustered := clusterCommandCounts(t, openCluster(t, cl.URL()), func() map[string]int64 { return cl.CommandStats(t) })
	for _, name := range slices.Sorted(maps.Keys(single)) {
		s, c := single[name], clustered[name]
		t.Logf("%-28s single: %-58s cluster: %s", name, s, c)
		// On one node a login's index changes run inside the session's
		// script; on Cluster they are scripts of their own (another
		// slot). The data commands are the same; only the round trips
		// and script calls differ, and never in Cluster's favour.
		if stripEval(s.commands) != stripEval(c.commands) {
			t.Errorf("%s: Cluster runs other data commands than one server", name)
		}
		if c.roundTrips < s.roundTrips {
			t.Errorf("%s: fewer round trips on Cluster than on one server", name)
		}
	}
}

func (cl *clusterSuite) loginRegenerateStaysInOneSlot(t *testing.T) {
	t.Parallel()
	a := cl.replicas(t, redistest.Prefix(t), nil)
	m := a[0].M
	c1 := a[0].Login("ann")
	a[1].Do("POST", "/set/theme/dark", c1)
	_, c2 := a[2].Do("POST", "/login/bob", c1)
	if c2 == "" || c2 == "-" || c2 == c1 {
		t.Fatalf("login did not issue a new id: %q", c2)
	}
	k1, k2 := cookieKey(t, m, c1), cookieKey(t, m, c2)
	if s1, s2 := cl.Slot(t, k1), cl.Slot(t, k2); s1 != s2 {
		t.Errorf("regenerate moved the session from slot %d to %d", s1, s2)
	}
	if cl.exists(t, k1) || !cl.exists(t, k2) {
		t.Errorf("after regenerate: old key exists %v, new key exists %v", cl.exists(t, k1), cl.exists(t, k2))
	}
	for i, r := range a {
		if r.Body("GET", "/get/theme", c2) != "dark" || r.Body("GET", "/user", c2) != "bob" {
			t.Errorf("replica %d: data not kept across regenerate", i)
		}
		if r.Body("GET", "/user", c1) != "" {
			t.Errorf("replica %d: the old id still works", i)
		}
	}
}

func (cl *clusterSuite) crossReplica(t *testing.T) {
	t.Parallel()
	a := cl.replicas(t, redistest.Prefix(t), nil)
	c := a[0].Login("ann")
	if a[1].Body("GET", "/user", c) != "ann" || a[2].Body("GET", "/user", c) != "ann" {
		t.Fatal("a login on one replica is not seen by the others")
	}
	a[1].Do("POST", "/set/theme/dark", c)
	a[2].Do("POST", "/incr/apples", c)
	if a[0].Body("GET", "/get/theme", c) != "dark" || a[0].Body("GET", "/get/apples", c) != "1" {
		t.Error("changes made on two replicas are not seen on a third")
	}
	if rec, set := a[1].Do("POST", "/logout", c); rec.Code != 200 || set != "-" {
		t.Fatalf("logout: %d %q", rec.Code, set)
	}
	if rec, set := a[2].Do("GET", "/user", c); rec.Body.String() != "" || set != "-" {
		t.Errorf("after logout on another replica: user %q cookie %q", rec.Body.String(), set)
	}
}

func (cl *clusterSuite) concurrentIncrements(t *testing.T) {
	t.Parallel()
	a := cl.replicas(t, redistest.Prefix(t), nil)
	c := a[0].Login("ann")
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 100 {
		wg.Go(func() {
			if rec, _ := a[i%3].Do("POST", "/incr/apples", c); rec.Code != 200 {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	for i, r := range a {
		if got := r.Body("GET", "/get/apples", c); got != "100" || failed.Load() != 0 {
			t.Errorf("replica %d: apples = %s after 100 increments (%d failed)", i, got, failed.Load())
		}
	}
}

func (cl *clusterSuite) differentFieldChangesBothKept(t *testing.T) {
	t.Parallel()
	a := cl.replicas(t, redistest.Prefix(t), nil)
	c := a[0].Login("ann")
	for round := range 20 {
		theme, lang := fmt.Sprint("t", round), fmt.Sprint("l", round)
		s1, s2 := sessiontest.Load(t, a[1].M, c), sessiontest.Load(t, a[2].M, c)
		s1.Set("theme", theme)
		s2.Set("lang", lang)
		var wg sync.WaitGroup
		var e1, e2 error
		wg.Go(func() { e1 = s1.Save() })
		wg.Go(func() { e2 = s2.Save() })
		wg.Wait()
		if e1 != nil || e2 != nil {
			t.Fatalf("round %d: %v / %v", round, e1, e2)
		}
		if got := sessiontest.Load(t, a[0].M, c); got.String("theme") != theme || got.String("lang") != lang {
			t.Fatalf("round %d: theme %q lang %q", round, got.String("theme"), got.String("lang"))
		}
	}
	// the same field changed on two replicas from one read: one wins,
	// the other is told
	s1, s2 := sessiontest.Load(t, a[1].M, c), sessiontest.Load(t, a[2].M, c)
	s1.Set("theme", "dark")
	s2.Set("theme", "light")
	if err := s1.Save(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Save(); !errors.Is(err, session.ErrConflict) {
		t.Errorf("same-field race: %v, want a conflict", err)
	}
}

func (cl *clusterSuite) logoutRacingWritesLeavesNothing(t *testing.T) {
	ctx := context.Background()
	t.Parallel()
	a := cl.replicas(t, redistest.Prefix(t), nil)
	for round := range 10 {
		c := a[0].Login("ann")
		key := cookieKey(t, a[0].M, c)
		var wg sync.WaitGroup
		codes := make([]int, 30)
		for i := range codes {
			wg.Go(func() {
				path := "/set/theme/dark" + fmt.Sprint(i)
				if i%2 == 0 {
					path = "/incr/apples"
				}
				rec, _ := a[i%3].Do("POST", path, c)
				codes[i] = rec.Code
			})
		}
		wg.Go(func() { a[(round+1)%3].Do("POST", "/logout", c) })
		wg.Wait()
		for i, code := range codes {
			// 200 before the logout, 401 (session.ErrGone) after; 409 when two
			// Sets of theme raced each other
			if code != 200 && code != http.StatusUnauthorized && code != http.StatusConflict {
				t.Errorf("round %d write %d: status %d", round, i, code)
			}
		}
		if cl.exists(t, key) {
			t.Fatalf("round %d: a write brought the session back", round)
		}
	}
	if list, err := a[2].M.List(ctx, "ann", nil); err != nil || len(list) != 0 {
		t.Errorf("after logouts: %d listed (%v)", len(list), err)
	}
	// a regenerate racing revoke-all on another replica fails, and
	// leaves no session under either key
	c := a[0].Login("bob")
	renamer := sessiontest.Load(t, a[1].M, c)
	if _, err := a[2].M.RevokeAll(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	renamer.Login("bob")
	if err := renamer.Save(); !errors.Is(err, session.ErrGone) {
		t.Fatalf("login racing revoke-all: %v, want session.ErrGone", err)
	}
	if list, _ := a[0].M.List(ctx, "bob", nil); len(list) != 0 {
		t.Errorf("revoked session listed again: %+v", list)
	}
}

func (cl *clusterSuite) revokeAllAcrossSlots(t *testing.T) {
	ctx := context.Background()
	t.Parallel()
	prefix := redistest.Prefix(t)
	a := cl.replicas(t, prefix, nil)
	const n = 15 // all on one of three masters: about 1 chance in 1.6 million
	var cookies []string
	perNode := map[int]int{}
	for i := range n {
		c := a[i%3].Login("ann")
		cookies = append(cookies, c)
		perNode[cl.Owner(t, cl.Slot(t, cookieKey(t, a[0].M, c)))]++
	}
	bob := a[0].Login("bob")
	index := a[0].M.Index("ann")
	t.Logf("ann's %d sessions per master %v; her index on master %d", n, perNode, cl.Owner(t, cl.Slot(t, index.Key)))
	if len(perNode) < 2 {
		t.Fatalf("all sessions landed on one master: %v", perNode)
	}
	if list, err := a[1].M.List(ctx, "ann", sessiontest.Load(t, a[1].M, cookies[3])); err != nil || len(list) != n {
		t.Fatalf("list across slots: %d (%v)", len(list), err)
	}
	if k, err := a[2].M.RevokeAll(ctx, "ann"); err != nil || k != n {
		t.Fatalf("revoke-all: %d %v", k, err)
	}
	for i, c := range cookies {
		if cl.exists(t, cookieKey(t, a[0].M, c)) || a[i%3].Body("GET", "/user", c) != "" {
			t.Errorf("session %d survived revoke-all", i)
		}
	}
	if held, err := cl.admin.HExists(ctx, index.Key, index.Field).Result(); err != nil || held {
		t.Errorf("index of ann not emptied (%v)", err)
	}
	if a[1].Body("GET", "/user", bob) != "bob" {
		t.Error("revoke-all of ann touched bob")
	}
}

// As sessiontest's IdleAndAbsoluteExpiry, over the three replicas in
// turn, judged from each request's own start and end: first the idle
// timeout, then the absolute lifetime.
func (cl *clusterSuite) expiry(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	cl.idleExpiry(t, prefix)
	cl.absoluteExpiry(t, prefix)
}

func (cl *clusterSuite) idleExpiry(t *testing.T, prefix string) {
	const idle, touch = 600 * time.Millisecond, 100 * time.Millisecond
	idleApps := cl.replicas(t, prefix, func(c *session.Config) {
		c.IdleTimeout, c.TouchInterval, c.Lifetime = idle, touch, time.Hour
	})
	prev := time.Now() // expiry runs from the request, not its answer
	c := idleApps[0].Login("ann")
	// Used every 200ms: alive whenever a request ends less than
	// idle-touch after the previous one began (that one stamped
	// last-seen no earlier than its start minus the touch interval). A
	// longer gap, on a loaded machine, proves nothing.
	for i, judged := 0, 0; judged < 6; i++ {
		if i > 30 {
			t.Fatal("machine too loaded to judge sliding expiry in 30 tries")
		}
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		rec, _ := idleApps[i%3].Do("GET", "/user", c)
		if rec.Code != http.StatusOK {
			continue // a store timeout says nothing of expiry
		}
		alive := rec.Body.String() == "ann"
		switch gap := time.Since(prev); {
		case gap >= idle-touch && !alive:
			start = time.Now()
			c, judged = idleApps[0].Login("ann"), 0 // too long a gap: start over
		case !alive:
			t.Fatalf("active session expired on replica %d, %v after the previous request began", i%3, gap)
		case gap < idle-touch:
			judged++
		}
		prev = start
	}
	key := cookieKey(t, idleApps[0].M, c)
	// Unused for longer than idle since the last answer (last-seen is
	// no later than it): gone, whatever the delays.
	time.Sleep(idle + 100*time.Millisecond)
	if cl.exists(t, key) {
		t.Error("idle session still in Redis: its TTL was not kept in step")
	}
	if got := idleApps[1].Body("GET", "/user", c); got != "" {
		t.Fatalf("idle session still alive: %q", got)
	}
}

func (cl *clusterSuite) absoluteExpiry(t *testing.T, prefix string) {
	const lifetime = 700 * time.Millisecond
	abs := cl.replicas(t, prefix, func(c *session.Config) {
		c.IdleTimeout, c.TouchInterval, c.Lifetime = time.Hour, 50*time.Millisecond, lifetime
	})
	// The store stamps whole milliseconds: the login's start is
	// rounded down as the store rounds the session's creation.
	loginStart := time.Now().Truncate(time.Millisecond)
	c := abs[0].Login("ann")
	loginEnd := time.Now()
	// Created between loginStart and loginEnd: alive for a request
	// that ends before loginStart+lifetime, gone for one that begins
	// after loginEnd+lifetime.
	for i := 0; ; i++ {
		rec, _ := abs[i%3].Do("GET", "/user", c)
		end := time.Now()
		alive := rec.Code == http.StatusOK && rec.Body.String() == "ann"
		if rec.Code == http.StatusOK && !alive && end.Before(loginStart.Add(lifetime)) {
			t.Fatalf("session ended on replica %d %v after login, before its lifetime %v", i%3, end.Sub(loginStart), lifetime)
		}
		if rec.Code == http.StatusOK && !alive || !end.Before(loginStart.Add(lifetime)) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Until(loginEnd.Add(lifetime + 50*time.Millisecond)))
	if got := abs[2].Body("GET", "/user", c); got != "" || cl.exists(t, cookieKey(t, abs[0].M, c)) {
		t.Fatalf("session outlived its absolute lifetime: %q", got)
	}
}

func (cl *clusterSuite) waitRoutesToTheKeysMaster(t *testing.T) {
	ctx := context.Background()
	t.Parallel()
	// The cluster has no replicas: WAIT 0 checks only that the script
	// and WAIT reach the right node in one pipeline (no MOVED).
	a := sessiontest.NewApp(t, sessiontest.MustManager(t, WithWait(New(openCluster(t, cl.URL())), 0, 100*time.Millisecond), redistest.Prefix(t), nil))
	var cs []string
	for range 6 {
		cs = append(cs, a.Login("ann"))
	}
	_, c := a.Do("POST", "/login/bob", cs[0])
	if a.Body("GET", "/user", c) != "bob" {
		t.Fatal("regenerate through WithWait failed")
	}
	if rec, _ := a.Do("POST", "/logout", cs[1]); rec.Code != 200 {
		t.Fatalf("logout through WithWait: %d %s", rec.Code, rec.Body)
	}
	if n, err := a.M.RevokeAll(ctx, "ann"); err != nil || n != 4 { // 6, less one moved to bob and one logged out
		t.Fatalf("revoke-all through WithWait: %d %v", n, err)
	}
}

func (cl *clusterSuite) ginContribConformance(t *testing.T) {
	t.Parallel()
	c := openCluster(t, cl.URL())
	factory := func(t *testing.T) sessions.Store {
		return ginsession.NewStore(sessiontest.MustManager(t, New(c), redistest.Prefix(t), nil))
	}
	sessiontest.GinContribConformance(t, factory)
}

func cookieKey(t *testing.T, m *session.Manager, cookie string) string {
	t.Helper()
	return sessiontest.StoreKey(t, m, cookie)
}

func open1(t *testing.T, url string) redis.UniversalClient {
	t.Helper()
	c, err := redisconn.Open(url, redisconn.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// stripEval reduces a commandstats summary to the names of the data
// commands: no evalsha or fcall, no counts (how often the index script extends a TTL
// or prunes depends on the index's state, not on the topology).
func stripEval(s string) string {
	s = regexp.MustCompile(`(evalsha|fcall)=[0-9.]+ ?`).ReplaceAllString(s, "")
	return regexp.MustCompile(`=[0-9.]+`).ReplaceAllString(s, "")
}
