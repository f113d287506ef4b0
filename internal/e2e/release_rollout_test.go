package e2e

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/devstack"
)

// The rollout and the rollback, as Kubernetes makes them (maxSurge: 1,
// maxUnavailable: 0) and compose one by one: a replica of the new side is
// started, becomes ready and joins the balancer; only then is one of the
// old side taken out of the balancer and drained (SIGTERM). Users keep
// going through the balancer all along.

const (
	rolloutUsers    = 8
	rolloutThink    = 10 * time.Millisecond
	rolloutMaxReqs  = 2000             // per user; 10 items, so no item reaches the cart's 99
	rolloutDeadline = 90 * time.Second // the load ends by then whatever happens
	rolloutWarm     = 5                // requests per user before and after the replacements
)

// rolloutLoad is users going through the balancer until stopped or
// bounded: views, cart adds, /api/me checks of the whole state, and now
// and then a theme change.
type rolloutLoad struct {
	u       *users
	devices []*device
	done    []atomic.Int64 // requests finished, per device
	stop    chan struct{}
	wg      sync.WaitGroup
	bounded atomic.Bool // a device reached rolloutMaxReqs or the deadline
}

func startRolloutLoad(u *users, lb target) *rolloutLoad {
	l := &rolloutLoad{u: u, stop: make(chan struct{}), done: make([]atomic.Int64, rolloutUsers)}
	for i := range rolloutUsers {
		d := newDevice(fmt.Sprintf("load%d", i+1), fmt.Sprintf("load%d", i+1))
		l.devices = append(l.devices, d)
		u.login(d, lb)
	}
	deadline := time.Now().Add(rolloutDeadline)
	for i, d := range l.devices {
		l.wg.Go(func() {
			for n := range rolloutMaxReqs {
				if time.Now().After(deadline) {
					break
				}
				switch {
				case n%20 == 19:
					u.setTheme(d, lb, []string{"light", "dark"}[n/20%2])
				case n%5 == 1 || n%5 == 3:
					u.add(d, lb, fmt.Sprintf("item%d", n%10), 1)
				case n%5 == 4:
					u.me(d, lb)
				default:
					u.view(d, lb)
				}
				l.done[i].Add(1)
				select {
				case <-l.stop:
					return
				case <-time.After(rolloutThink):
				}
			}
			l.bounded.Store(true)
		})
	}
	return l
}

// waitEach waits until every device has finished n more requests than in
// from (a snapshot of done), at most d.
func (l *rolloutLoad) waitEach(t *testing.T, n int64, d time.Duration) {
	t.Helper()
	from := l.snapshot()
	deadline := time.Now().Add(d)
	for {
		behind := 0
		for i := range l.done {
			if l.done[i].Load() < from[i]+n {
				behind++
			}
		}
		if behind == 0 {
			return
		}
		if l.bounded.Load() || time.Now().After(deadline) {
			t.Fatalf("%d users did not finish %d more requests within %v", behind, n, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *rolloutLoad) snapshot() []int64 {
	out := make([]int64, len(l.done))
	for i := range l.done {
		out[i] = l.done[i].Load()
	}
	return out
}

// halt stops the users and waits for them; it reports whether the load
// reached its bounds first.
func (l *rolloutLoad) halt() bool {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
	return l.bounded.Load()
}

// rolloutScenario: under load through the balancer, every replica of
// side a is replaced by one of side b (the rollout), then every replica
// of b by one of a (the rollback). Afterwards every load user, and every
// device of the hops scenario, still has its session and all its
// acknowledged changes.
func rolloutScenario(t *testing.T, rs *releaseStack, earlier []*device) {
	tl := newTally()
	u := newUsers(tl, sideOf)
	start := time.Now()
	load := startRolloutLoad(u, rs.lb())
	t.Cleanup(func() { load.halt() })
	load.waitEach(t, rolloutWarm, 20*time.Second)

	var figures []string
	replaceAll := func(from, to Side) {
		for _, r := range rs.members(from) {
			figures = append(figures, rs.replace(t, r, to))
		}
	}
	a, b := rs.sides[0], rs.sides[1]
	replaceAll(a, b) // the rollout
	replaceAll(b, a) // the rollback
	load.waitEach(t, rolloutWarm, 20*time.Second)
	if load.halt() {
		t.Errorf("the load reached its bound (%v or %d requests a user) before the rollout and rollback ended", rolloutDeadline, rolloutMaxReqs)
	}
	lb := rs.lb()
	for _, d := range append(load.devices, earlier...) {
		u.me(d, lb)
	}
	t.Logf("rollout (%s to %s) then rollback, one replica at a time, in %v:\n  %s",
		a.Name, b.Name, time.Since(start).Round(time.Millisecond), strings.Join(figures, "\n  "))
	t.Logf("%d users through the balancer, then every user's session checked: %s", rolloutUsers, tl.counts())
	tl.report(t)
}

// members are the replicas of side s in the balancer.
func (rs *releaseStack) members(s Side) []*devstack.Replica {
	var out []*devstack.Replica
	for _, r := range rs.stack.Replicas {
		if sideOf(r.ID) == s.Name {
			out = append(out, r)
		}
	}
	return out
}

// replace starts a replica of side to, ready and in the balancer, then
// takes victim out of the balancer and drains it (SIGTERM by its PID;
// exit status 0). It returns what happened, for the log.
func (rs *releaseStack) replace(t *testing.T, victim *devstack.Replica, to Side) string {
	t.Helper()
	start := time.Now()
	r, err := rs.stack.Add(rs.spec(to))
	if err != nil {
		t.Fatalf("replacing %s: %v", victim.ID, err)
	}
	added := time.Since(start)
	if err := rs.stack.Remove(victim); err != nil {
		t.Fatalf("replacing %s by %s: %v", victim.ID, r.ID, err)
	}
	removed := time.Since(start)
	pid := victim.Process().PID()
	drain := term(t, victim)
	return fmt.Sprintf("%s (pid %d) replaced by %s (pid %d): ready and in the balancer after %v, %s out of it after %v, drained (exit 0) in %v",
		victim.ID, pid, r.ID, r.Process().PID(), added.Round(time.Millisecond), victim.ID, removed.Round(time.Millisecond), drain.Round(time.Millisecond))
}
