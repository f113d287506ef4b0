package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/procs"
	"github.com/sessiond/sessiond/internal/redistest"
)

// TestRunCountsIPv6ClientsByNetwork: behind a trusted proxy, logins from
// five addresses of one IPv6 /64 share one budget (a normal allocation
// gives a client a whole /64), another /64 has its own, and IPv4
// addresses are counted one by one; with LOGIN_RATE_LIMIT_IPV6_PREFIX=48
// two /64s of one /48 share. On both stores, since run builds the Redis
// and the in-memory limiter.
func TestRunCountsIPv6ClientsByNetwork(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	stores := map[string][]string{
		"redis":      {"REDIS_URL", rs.URL(), "SESSION_SECRET", goodSecret, "REDIS_KEY_PREFIX", redistest.Prefix(t)},
		"filesystem": {"SESSION_DIR", t.TempDir()},
	}
	for name, store := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startRun(t, append(store, "LOGIN_RATE_LIMIT", "3", "TRUSTED_PROXIES", "127.0.0.1/32")...)
			login := func(client string) int {
				t.Helper()
				req, _ := http.NewRequest("POST", s.url+"/login", strings.NewReader(url.Values{"name": {"ivy"}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", client)
				res, err := noRedirect.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode
			}
			expect := func(what string, want []int, clients ...string) {
				t.Helper()
				var got []int
				for _, c := range clients {
					got = append(got, login(c))
				}
				if !equalInts(got, want) {
					t.Errorf("%s: logins from %q answered %v, want %v", what, clients, got, want)
				}
			}
			const ok, limited = http.StatusSeeOther, http.StatusTooManyRequests
			expect("five addresses of one /64", []int{ok, ok, ok, limited, limited},
				"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3", "2001:db8:1:2:a:b:c:d", "2001:db8:1:2::5")
			expect("another /64 of the same /48", []int{ok}, "2001:db8:1:3::1")
			expect("IPv4 addresses one by one", []int{ok, ok, ok, limited, ok},
				"192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2")
			expect("an IPv4-mapped IPv6 address is its IPv4 address", []int{limited}, "::ffff:192.0.2.1")

			wide := startRun(t, append(store, "LOGIN_RATE_LIMIT", "3", "TRUSTED_PROXIES", "127.0.0.1/32",
				"LOGIN_RATE_LIMIT_IPV6_PREFIX", "48", "REPLICA_ID", "wide")...)
			s = wide
			expect("with /48, two /64s of one /48", []int{ok, ok, ok, limited},
				"2001:db8:7:1::1", "2001:db8:7:2::1", "2001:db8:7:3::1", "2001:db8:7:4::1")
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestIPv6PrefixIsCheckedAtStart: a bad LOGIN_RATE_LIMIT_IPV6_PREFIX
// stops the server at start with a line naming it (exit status 2).
func TestIPv6PrefixIsCheckedAtStart(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"abc", "0", "16", "129", "-64", "/64"} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		var out procs.SyncBuffer
		err := run(ctx, []string{"server"}, env("ADDR", "127.0.0.1:0", "SESSION_DIR", t.TempDir(), "LOGIN_RATE_LIMIT_IPV6_PREFIX", v), &out, &out)
		cancel()
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "LOGIN_RATE_LIMIT_IPV6_PREFIX=") {
			t.Errorf("LOGIN_RATE_LIMIT_IPV6_PREFIX=%q: run = %v (exit %d), want a config error naming it, exit 2", v, err, exitCode(err))
		}
	}
}
