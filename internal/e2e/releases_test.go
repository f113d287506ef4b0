package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/devstack"
	"github.com/sessiond/sessiond/internal/redistest"
)

// Two releases side by side, as every deploy and every rollback runs them:
// replicas of the previous release and of this build behind one nginx,
// sharing one Redis and one SESSION_SECRET, serving the same users.

// Side is one of the two sides of a side-by-side run: a binary and the
// variables its replicas get on top of the shared ones. Its replicas are
// named Name-1, Name-2, ... (REPLICA_ID, so X-Replica tells which side
// served a request).
type Side struct {
	Name   string
	Binary string
	Env    []string
}

// TestReleasesSideBySide runs the previous release (the commit in
// testdata/previous-release, or PREVIOUS_RELEASE), built from the
// repository's history, next to this build.
func TestReleasesSideBySide(t *testing.T) {
	if testing.Short() {
		t.Skip("needs nginx and the previous release built from history: run make test")
	}
	prev := previousRelease(t)
	old := Side{Name: "old", Binary: releaseBinary(t, prev)}
	cur := Side{Name: "new", Binary: serverBinary}
	t.Logf("previous release %s (old-*) next to this build (new-*)", prev)
	runSideBySide(t, old, cur)
}

// TestLayoutSwitchSideBySide is the second step of a change of layout
// (docs/operations.md, "Changing the layout: two steps"): this build
// writing layout 1 next to this build writing layout 2, as during the roll
// that sets STORE_LAYOUT=2, and back, as during its rollback.
func TestLayoutSwitchSideBySide(t *testing.T) {
	if testing.Short() {
		t.Skip("needs nginx: run make test")
	}
	one := Side{Name: "layout1", Binary: serverBinary, Env: []string{"STORE_LAYOUT=1"}}
	two := Side{Name: "layout2", Binary: serverBinary, Env: []string{"STORE_LAYOUT=2"}}
	runSideBySide(t, one, two)
}

// releaseStack is one redis-server, replicas of two sides, and nginx in
// front of them all.
type releaseStack struct {
	stack *devstack.Stack
	redis *redistest.Server
	sides [2]Side
	named map[string]int // replicas started per side, for their names
}

// replicasPerSide is how many replicas each side starts with.
const replicasPerSide = 2

// startReleases starts Redis, replicasPerSide replicas of each side and
// nginx; everything is ended, by PID, when the test ends.
func startReleases(t *testing.T, a, b Side) *releaseStack {
	t.Helper()
	if a.Name == b.Name || strings.Contains(a.Name+b.Name, "-") {
		t.Fatalf("sides %q and %q: want two different names without '-'", a.Name, b.Name)
	}
	logDir := t.TempDir()
	keepLogsOnFailure(t, logDir)
	rs := &releaseStack{redis: redistest.Start(t), sides: [2]Side{a, b}, named: map[string]int{}}
	t.Cleanup(func() {
		if t.Failed() {
			copyFile(filepath.Join(rs.redis.Dir, "redis.log"), filepath.Join(logDir, "redis.log"))
		}
	})
	var specs []devstack.ReplicaSpec
	for range replicasPerSide {
		for _, s := range rs.sides {
			specs = append(specs, rs.spec(s))
		}
	}
	stack, err := devstack.Start(devstack.Config{
		Dir:      logDir,
		RedisURL: rs.redis.URL(),
		Specs:    specs,
		// Variables both releases know (REDIS_TIMEOUT is STORE_TIMEOUT's
		// former name).
		Env: []string{
			"REDIS_KEY_PREFIX=e2e:",
			"REDIS_TIMEOUT=" + replicaFaultStoreTimeout.String(),
			"SHUTDOWN_DELAY=1s",
			"SHUTDOWN_TIMEOUT=10s",
			"TRUSTED_PROXIES=127.0.0.1/32",
			"LOGIN_RATE_LIMIT=0",
			"LOG_FORMAT=json",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stack.Stop)
	rs.stack = stack
	return rs
}

// spec names the next replica of side s.
func (rs *releaseStack) spec(s Side) devstack.ReplicaSpec {
	rs.named[s.Name]++
	return devstack.ReplicaSpec{ID: fmt.Sprintf("%s-%d", s.Name, rs.named[s.Name]), Server: s.Binary, Env: s.Env}
}

// sideOf is the side a replica's name says ("" for none).
func sideOf(replica string) string {
	name, _, _ := strings.Cut(replica, "-")
	return name
}

// targets are the replicas of side s in the balancer, each to be asked
// directly.
func (rs *releaseStack) targets(s Side) []target {
	var out []target
	for _, r := range rs.stack.Replicas {
		if sideOf(r.ID) == s.Name {
			out = append(out, target{id: r.ID, url: r.URL()})
		}
	}
	return out
}

func (rs *releaseStack) lb() target { return target{id: "lb", url: rs.stack.LB} }

// runSideBySide is the scenario, for any two sides: users hopping between
// a's and b's replicas, revoke-all and logout across them, then a rollout
// from a to b and a rollback to a under load. Every answer is checked: no
// sign-out of a signed-in user, no lost acknowledged change, no 5xx.
func runSideBySide(t *testing.T, a, b Side) {
	start := time.Now()
	rs := startReleases(t, a, b)
	t.Logf("%d replicas of %s and %d of %s behind nginx %s, one Redis, started in %v",
		replicasPerSide, a.Name, replicasPerSide, b.Name, rs.stack.LB, time.Since(start).Round(time.Millisecond))

	var hoppers []*device
	t.Run("hops", func(t *testing.T) { hoppers = hopsScenario(t, rs) })
	t.Run("revoke-all", func(t *testing.T) { revokeAllScenario(t, rs) })
	t.Run("logout", func(t *testing.T) { logoutScenario(t, rs) })
	t.Run("rollout-rollback", func(t *testing.T) { rolloutScenario(t, rs, hoppers) })
	t.Logf("side by side of %s and %s: %v in all", a.Name, b.Name, time.Since(start).Round(time.Millisecond))
}

// hopsScenario: 8 users, three of them with a second device, each device
// signing in on one side and going on on the other, re-signing in,
// double-submitting a sign-in, adding to its cart from both sides at once,
// and going through the balancer. It returns the devices, for the rollout
// to check once more at its end.
func hopsScenario(t *testing.T, rs *releaseStack) []*device {
	tl := newTally()
	u := newUsers(tl, sideOf)
	var devices []*device
	for i := range 8 {
		name := fmt.Sprintf("u%d", i+1)
		devices = append(devices, newDevice(name, name))
		if i%3 == 0 {
			devices = append(devices, newDevice(name, name+"/2"))
		}
	}
	sides := [2][]target{rs.targets(rs.sides[0]), rs.targets(rs.sides[1])}
	var wg sync.WaitGroup
	for i, d := range devices {
		// Half the devices sign in on each side; x is that side, y the other.
		x, y := sides[i%2], sides[(i+1)%2]
		on := func(s []target, k int) target { return s[(i+k)%len(s)] }
		wg.Go(func() {
			u.login(d, on(x, 0))
			u.view(d, on(y, 0))
			u.add(d, on(y, 1), "apple", i+1)
			u.setTheme(d, on(x, 1), "dark")
			u.me(d, on(y, 0))
			u.add(d, on(x, 0), "pear", 2)
			u.view(d, on(x, 0))
			u.me(d, on(x, 1))

			// Signing in again with the cookie: a new session id, the
			// data kept, on the other side.
			u.login(d, on(y, 0))
			u.me(d, on(x, 0))
			u.add(d, on(x, 0), "fig", 1)
			u.view(d, on(y, 1))

			// A double-submitted sign-in, one copy to each side.
			var dbl sync.WaitGroup
			dbl.Go(func() { u.login(d, on(x, 1)) })
			dbl.Go(func() { u.login(d, on(y, 1)) })
			dbl.Wait()
			u.me(d, on(x, 1))
			u.me(d, on(y, 1))

			// Concurrent adds from both sides: each counts.
			var adds sync.WaitGroup
			for k := range 6 {
				s := x
				if k%2 == 1 {
					s = y
				}
				adds.Go(func() { u.add(d, on(s, k/2), "plum", 1) })
			}
			adds.Wait()
			u.me(d, on(x, 0))
			u.me(d, on(y, 0))

			// Through the balancer, which mixes the sides itself.
			lb := rs.lb()
			for range 2 {
				u.view(d, lb)
				u.add(d, lb, "kiwi", 1)
				u.me(d, lb)
			}
			u.setTheme(d, on(y, 0), "light")
			u.me(d, on(x, 0))
			u.me(d, on(y, 1))
		})
	}
	wg.Wait()
	t.Logf("%d devices of 8 users: %s", len(devices), tl.counts())
	tl.report(t)
	return devices
}

// revokeAllScenario: a user with one device signed in on each side ends
// every session of the name (POST /sessions/revoke-all) from a's side,
// another user from b's. Afterwards neither device's cookie is signed in
// on any replica, and a new sign-in lists only itself.
func revokeAllScenario(t *testing.T, rs *releaseStack) {
	tl := newTally()
	u := newUsers(tl, sideOf)
	all := append(rs.targets(rs.sides[0]), rs.targets(rs.sides[1])...)
	for k, on := range rs.sides {
		name := "revoke-on-" + on.Name
		here, there := rs.targets(on), rs.targets(rs.sides[1-k])
		// Device A signs in on the revoking side, B on the other; B, the
		// one signed in elsewhere, sends the revoke-all.
		devA, devB := newDevice(name, name+"/A"), newDevice(name, name+"/B")
		u.login(devA, here[0])
		u.add(devA, there[0], "apple", 1)
		u.login(devB, there[1])
		u.add(devB, here[1], "pear", 1)
		u.me(devA, there[1])
		u.me(devB, here[0])
		cookies := map[string]string{devA.label: devA.cookie, devB.label: devB.cookie}
		signedIn := map[string]string{devA.label: devA.signedInOn, devB.label: devB.signedInOn}

		a := u.send(devB, here[0], http.MethodPost, "/sessions/revoke-all", nil, true)
		if a.status != http.StatusSeeOther || a.location != "/login" {
			tl.problem(probUnexpected, "%s: POST /sessions/revoke-all on %s = %d to %q, want 303 to /login", devB.label, a.replica, a.status, a.location)
		}
		for _, label := range []string{devA.label, devB.label} {
			for _, tg := range all {
				if ok, a := u.stillSignedIn(label, cookies[label], tg); ok {
					tl.problem(probRevoke, "%s (signed in on %s) still signed in on %s after revoke-all on %s: %s",
						label, signedIn[label], tg, here[0], firstLine(a.body))
				}
			}
		}

		// A new sign-in lists only itself, on either side.
		fresh := newDevice(name, name+"/C")
		u.login(fresh, there[0])
		for _, tg := range []target{here[1], there[1]} {
			checkOnlySession(u, tl, fresh, tg, "revoke-all on "+here[0].id)
		}
	}
	t.Log(tl.counts())
	tl.report(t)
}

// checkOnlySession asks tg for GET /api/sessions: only d's own session
// may be listed.
func checkOnlySession(u *users, tl *tally, d *device, tg target, after string) {
	a := u.send(d, tg, http.MethodGet, "/api/sessions", nil, false)
	switch {
	case a.err != nil || a.status >= 500:
		return
	case a.status == http.StatusUnauthorized:
		u.signedOut(d, a, "GET /api/sessions", "401")
		return
	case a.status != http.StatusOK:
		tl.problem(probUnexpected, "%s: GET /api/sessions on %s = %d: %s", d.label, a.replica, a.status, firstLine(a.body))
		return
	}
	var list []struct {
		Device  string `json:"device"`
		Current bool   `json:"current"`
	}
	if err := json.Unmarshal(a.body, &list); err != nil {
		tl.problem(probUnexpected, "%s: GET /api/sessions on %s: %v", d.label, a.replica, err)
		return
	}
	if len(list) != 1 || !list[0].Current {
		tl.problem(probRevoke, "%s: GET /api/sessions on %s after %s and one new sign-in lists %d sessions (%s), want only this one",
			d.label, a.replica, after, len(list), firstLine(a.body))
	}
}

// logoutScenario: a user signed in on one side logs out on the other;
// the cookie is signed in nowhere afterwards. Both ways.
func logoutScenario(t *testing.T, rs *releaseStack) {
	tl := newTally()
	u := newUsers(tl, sideOf)
	all := append(rs.targets(rs.sides[0]), rs.targets(rs.sides[1])...)
	for k, on := range rs.sides {
		name := "logout-on-" + on.Name
		here, there := rs.targets(on), rs.targets(rs.sides[1-k])
		d := newDevice(name, name)
		u.login(d, there[0])
		u.add(d, here[0], "apple", 2)
		u.me(d, there[1])
		cookie, signedIn := d.cookie, d.signedInOn
		a := u.send(d, here[1], http.MethodPost, "/logout", nil, true)
		if a.status != http.StatusSeeOther || a.location != "/login" {
			tl.problem(probUnexpected, "%s: POST /logout on %s = %d to %q, want 303 to /login", d.label, a.replica, a.status, a.location)
		}
		for _, tg := range all {
			if ok, a := u.stillSignedIn(d.label, cookie, tg); ok {
				tl.problem(probLogout, "%s (signed in on %s) still signed in on %s after logging out on %s: %s",
					d.label, signedIn, tg, here[1], firstLine(a.body))
			}
		}
	}
	t.Log(tl.counts())
	tl.report(t)
}

// term sends SIGTERM to r's process, by its PID, and waits until it exits;
// anything but exit status 0 within 20s fails the test. It returns how long
// the drain took.
func term(t *testing.T, r *devstack.Replica) time.Duration {
	t.Helper()
	p := r.Process()
	start := time.Now()
	p.Signal(syscall.SIGTERM)
	if !p.Wait(20 * time.Second) {
		t.Fatalf("replica %s (pid %d) still runs 20s after SIGTERM", r.ID, p.PID())
	}
	if s := p.ExitStatus(); s != "exit status 0" {
		t.Errorf("replica %s ended with %s after SIGTERM, want exit status 0", r.ID, s)
	}
	return time.Since(start)
}
