package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestForgedForwardedForDoesNotChooseTheLimiterKey: through the balancer
// (nginx from the shipped template), a client that sends a new
// X-Forwarded-For and X-Real-IP with every login still has one budget, its
// own address's: the logins beyond LOGIN_RATE_LIMIT get 429, and Redis
// holds one limiter key, not one per forged address. The replicas trust
// 127.0.0.1, the balancer, which is also where this client comes from:
// the compose case, where the network's gateway (every request from the
// host) was trusted. A client on another address (127.0.0.2) has a budget
// of its own, under its own address.
func TestForgedForwardedForDoesNotChooseTheLimiterKey(t *testing.T) {
	const limit = 5
	top := StartTopology(t, Options{LoginRateLimit: limit})
	ctx := context.Background()

	login := func(from string, forged int) *http.Response {
		t.Helper()
		c := clientFrom(from)
		req, _ := http.NewRequest(http.MethodPost, top.LB+"/login", strings.NewReader(url.Values{"name": {"mallory"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", forged))
		req.Header.Add("X-Forwarded-For", fmt.Sprintf("2001:db8:%x::1", forged))
		req.Header.Set("X-Real-IP", fmt.Sprintf("198.51.100.%d", forged))
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("login from %s: %v", from, err)
		}
		res.Body.Close()
		return res
	}

	var got []int
	for i := range 12 {
		res := login("127.0.0.1", i+1)
		got = append(got, res.StatusCode)
		if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
			t.Errorf("login %d: 429 without Retry-After", i+1)
		}
	}
	want := slices.Repeat([]int{http.StatusSeeOther}, limit)
	want = append(want, slices.Repeat([]int{http.StatusTooManyRequests}, 12-limit)...)
	if !slices.Equal(got, want) {
		t.Errorf("12 logins, each with a new forged X-Forwarded-For and X-Real-IP, answered %v; want %v", got, want)
	}
	if res := login("127.0.0.2", 99); res.StatusCode != http.StatusSeeOther {
		t.Errorf("login from another client address (127.0.0.2) = %d, want 303: its own budget", res.StatusCode)
	}

	keys, err := top.Redis.Client(t).Keys(ctx, "e2e:login:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if wantKeys := []string{"e2e:login:127.0.0.1", "e2e:login:127.0.0.2"}; !slices.Equal(keys, wantKeys) {
		t.Errorf("limiter keys in Redis = %q, want %q: one per client address, none per forged one", keys, wantKeys)
	}
}

// clientFrom is an HTTP client whose connections come from the loopback
// address local, following no redirects.
func clientFrom(local string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
