package http

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session/redisstore"
)

// A logout, or a revoke-all, that arrives with the cookie a re-login has
// just replaced (the browser sent it before the login's answer came back)
// ends the session the login renamed it to: the real handlers, not a test
// app that destroys unconditionally.
func TestEndingWithThePreLoginCookieEndsTheRenamedSession(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{})
	for _, route := range []string{"/logout", "/sessions/revoke-all"} {
		t.Run(route, func(t *testing.T) {
			user := newBrowser(t)
			user.login(r, "pia")
			expect(t, user.post(r.url+"/cart/add", "item", "apple", "qty", "3"), http.StatusSeeOther)
			before := user.cookieValue()
			user.login(r, "pia") // the re-login: a new cookie, the old key forwards to it
			late := newBrowser(t)
			late.setCookie(before)
			res := late.post(r.url + route)
			expect(t, res, http.StatusSeeOther)
			if got := user.get(r.url + "/api/me"); got.StatusCode != http.StatusUnauthorized {
				t.Errorf("POST %s with the pre-login cookie (answer %d, Set-Cookie %q): the renamed session is still signed in: %d %.200s",
					route, res.StatusCode, res.Header.Get("Set-Cookie"), got.StatusCode, got.text)
			}
		})
	}
}

// Signing out of every other session costs a fixed number of round trips
// to Redis, whatever their number: with 49 others as with 2, so a slow
// link cannot stretch the request past the balancer's timeout.
func TestRevokeOthersCostsFixedRoundTrips(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	counter := &redistest.RoundTrips{}
	client := redis.NewClient(&redis.Options{
		Addr: w.redis.Addr, ContextTimeoutEnabled: true, MaxRetries: -1, PoolSize: 1,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, PoolTimeout: time.Second,
	})
	t.Cleanup(func() { client.Close() })
	// Plain reads: the batched ones share round trips with other requests.
	r := startReplica(t, "counted", redisstore.New(client, redisstore.PlainCommands()), w.prefix, options{}, client)
	client.AddHook(counter)
	other := w.replica("other", options{})
	cost := map[int]int64{}
	for _, others := range []int{1, 2, 49} { // the first loads the scripts

		name := "many" + strconv.Itoa(others)
		me := newBrowser(t)
		me.login(r, name)
		for range others {
			newBrowser(t).login(other, name)
		}
		if n := len(apiSessionsOf(t, me, r)); n != others+1 {
			t.Fatalf("%d sessions listed, want %d", n, others+1)
		}
		before := counter.N()
		expect(t, me.post(r.url+"/sessions/revoke-others"), http.StatusSeeOther)
		cost[others] = counter.N() - before
		if n := len(apiSessionsOf(t, me, r)); n != 1 {
			t.Fatalf("after revoke-others %d sessions listed, want 1", n)
		}
	}
	delete(cost, 1)
	t.Logf("round trips of revoke-others: %v (by number of other sessions)", cost)
	if cost[49] != cost[2] {
		t.Errorf("revoke-others took %d round trips with 49 other sessions and %d with 2: one per session", cost[49], cost[2])
	}
}
