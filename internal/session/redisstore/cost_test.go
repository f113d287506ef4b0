package redisstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

// opCount is what one kind of request costs: the commands the servers ran
// (INFO commandstats, summed over nodes; script-internal commands
// included) and the client's round trips (a pipeline counts once per node).
type opCount struct {
	commands   string
	roundTrips float64
}

func (c opCount) String() string {
	return fmt.Sprintf("%.1f round trips, %s", c.roundTrips, c.commands)
}

// clusterCommandCounts runs each kind of request n times on client and
// returns its per-request cost.
func clusterCommandCounts(t *testing.T, client redis.UniversalClient, stats func() map[string]int64) map[string]opCount {
	t.Helper()
	ctx := context.Background()
	rt := &redistest.RoundTrips{}
	if cc, ok := client.(*redis.ClusterClient); ok {
		cc.OnNewNode(func(n *redis.Client) { n.AddHook(rt) })
		// the functions in every master, as after any warm-up
		if err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return n.FunctionLoadReplace(ctx, library.src).Err()
		}); err != nil {
			t.Fatal(err)
		}
	} else {
		client.AddHook(rt)
		if err := client.FunctionLoadReplace(ctx, library.src).Err(); err != nil {
			t.Fatal(err)
		}
	}
	m := sessiontest.MustManager(t, New(client), redistest.Prefix(t), nil)
	a := sessiontest.NewApp(t, m)
	c := a.Login("ann")
	a.Do("POST", "/set/theme/dark", c)
	const n = 10
	var spare []string
	for range n {
		spare = append(spare, a.Login("zed"))
	}
	for range 5 {
		a.Login("kim")
	}
	out := map[string]opCount{}
	measure := func(name string, times int, fn func(i int)) {
		before, rt0 := stats(), rt.N()
		for i := range times {
			fn(i)
		}
		// connection set-up (hello, client) and the test's own INFO aside
		d := redistest.Diff(before, stats(), "info", "hello", "client", "cluster", "command", "ping")
		per := make([]string, 0, len(d))
		for _, k := range slices.Sorted(maps.Keys(d)) {
			per = append(per, fmt.Sprintf("%s=%.1f", k, float64(d[k])/float64(times)))
		}
		out[name] = opCount{commands: "{" + strings.Join(per, " ") + "}", roundTrips: float64(rt.N()-rt0) / float64(times)}
	}
	measure("1 read-only page", n, func(int) { a.Do("GET", "/get/theme", c) })
	measure("2 incr (cart add)", n, func(int) { a.Do("POST", "/incr/apples", c) })
	measure("3 login, new session", n, func(int) { a.Do("POST", "/login/bob", "") })
	measure("4 re-login (regenerate)", n, func(int) { _, c = a.Do("POST", "/login/ann", c) })
	measure("5 logout", n, func(i int) { a.Do("POST", "/logout", spare[i]) })
	measure("6 list 5 sessions", n, func(int) {
		if _, err := m.List(ctx, "kim", nil); err != nil {
			t.Fatal(err)
		}
	})
	measure("7 revoke-all of 5", 1, func(int) {
		if k, err := m.RevokeAll(ctx, "kim"); err != nil || k != 5 {
			t.Fatalf("revoke-all: %d %v", k, err)
		}
	})
	return out
}

// A login under a name past its maximum (a shared demo account, or anyone
// signing in as a popular name) ends the least recently used session in
// the login's own script: one script and at most 10 commands, however
// many such logins run at once.
func TestLoginPastTheCapCostsWhatAnyLoginCosts(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	client := srv.Client(t)
	m := sessiontest.MustManager(t, New(client), redistest.Prefix(t), nil)
	a := sessiontest.NewApp(t, m)
	for range 60 { // past the maximum of 50, the script in the cache
		a.Login("crowd")
	}
	const workers, each = 8, 10
	before := redistest.CommandStats(t, client)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if rec, c := a.Do("POST", "/login/crowd", ""); rec.Code != 200 || c == "" {
					t.Errorf("login: %d %q", rec.Code, rec.Body.String())
				}
			}
		})
	}
	wg.Wait()
	d := redistest.Diff(before, redistest.CommandStats(t, client), "info", "hello", "client|setinfo")
	logins := int64(workers * each)
	var all int64
	for _, n := range d {
		all += n
	}
	t.Logf("%d concurrent logins of a name past its maximum: %v", logins, d)
	if d["fcall"] != logins {
		t.Errorf("%d scripts for %d logins, want one each", d["fcall"], logins)
	}
	if all > 10*logins {
		t.Errorf("%.1f commands per login, want at most 10", float64(all)/float64(logins))
	}
	if list, err := m.List(context.Background(), "crowd", nil); err != nil || len(list) != 50 {
		t.Errorf("listed %d (%v), want the 50 kept", len(list), err)
	}
}
