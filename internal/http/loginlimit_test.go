package http

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/ratelimit"
	"github.com/sessiond/sessiond/internal/redistest"
)

func forwardedFor(ip string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("X-Forwarded-For", ip) }
}

// loginAs posts a login; edits may set headers.
func loginAs(b *browser, r *replica, name string, edit ...func(*http.Request)) *response {
	return b.do(http.MethodPost, r.url+"/login", form("name", name), edit...)
}

// limited checks a 429 answer: Retry-After in whole seconds, at least 1,
// and a page that says what happened; nothing stored, no cookie.
func limited(t *testing.T, res *response) {
	t.Helper()
	expect(t, res, http.StatusTooManyRequests)
	secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 60 {
		t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
		!containsAll(res.text, "Too many sign-in attempts", "Please wait "+strconv.Itoa(secs)) {
		t.Fatalf("429 page: %.500s", res.text)
	}
	if res.Header.Get("Set-Cookie") != "" || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("429 headers: %v", res.Header)
	}
}

// TestLoginRateLimitByClientIP: the limit is per client address; a spoofed
// X-Forwarded-For from an untrusted peer changes nothing, from a trusted
// proxy it names the client.
func TestLoginRateLimitByClientIP(t *testing.T) {
	t.Parallel()
	t.Run("untrusted peer", func(t *testing.T) {
		t.Parallel()
		r := newWorld(t).replica("direct", options{loginLimit: 3}) // trusts no proxy
		for i := range 3 {
			expect(t, loginAs(newBrowser(t), r, "ann", forwardedFor("203.0.113."+strconv.Itoa(i+1))), http.StatusSeeOther)
		}
		b := newBrowser(t)
		limited(t, loginAs(b, r, "ann", forwardedFor("198.51.100.7")))
		limited(t, loginAs(b, r, "ann"))
		if b.cookieValue() != "" {
			t.Fatal("a refused login set a cookie")
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		t.Parallel()
		r := newWorld(t).replica("proxied", options{loginLimit: 3, proxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		for range 3 {
			expect(t, loginAs(newBrowser(t), r, "bob", forwardedFor("203.0.113.9")), http.StatusSeeOther)
		}
		limited(t, loginAs(newBrowser(t), r, "bob", forwardedFor("203.0.113.9")))
		// Through a chain of proxies, the client is the rightmost
		// untrusted address.
		limited(t, loginAs(newBrowser(t), r, "bob", forwardedFor("203.0.113.9, 127.0.0.5")))
		expect(t, loginAs(newBrowser(t), r, "bob", forwardedFor("203.0.113.10")), http.StatusSeeOther)
		// The proxy's own address (no header) is one more client.
		expect(t, loginAs(newBrowser(t), r, "bob"), http.StatusSeeOther)
	})
}

// TestLoginRateLimitShared: three replicas on one Redis enforce one limit
// in total; other routes and other clients are not limited.
func TestLoginRateLimitShared(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	proxies := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	rs := []*replica{
		w.replica("a", options{loginLimit: 5, proxies: proxies}),
		w.replica("b", options{loginLimit: 5, proxies: proxies}),
		w.replica("c", options{loginLimit: 5, proxies: proxies}),
	}
	b := newBrowser(t)
	for i := range 5 {
		expect(t, loginAs(b, rs[i%3], "cleo", forwardedFor("192.0.2.1")), http.StatusSeeOther)
	}
	for _, r := range rs {
		limited(t, loginAs(newBrowser(t), r, "cleo", forwardedFor("192.0.2.1")))
	}
	// Signed in, the user keeps working; a refused login does not log out.
	expect(t, b.get(rs[2].url+"/api/me"), http.StatusOK)
	expect(t, b.post(rs[1].url+"/cart/add", "item", "pear"), http.StatusSeeOther)
	limited(t, loginAs(b, rs[0], "cleo", forwardedFor("192.0.2.1")))
	if m := getMe(t, b, rs[0]); m.Name != "cleo" || m.Cart["pear"] != 1 {
		t.Fatalf("after a refused login: %+v", m)
	}
	expect(t, loginAs(newBrowser(t), rs[1], "dan", forwardedFor("192.0.2.2")), http.StatusSeeOther)

	// Invalid names count too: they are attempts.
	c := newBrowser(t)
	for range 5 {
		expect(t, loginAs(c, rs[0], "", forwardedFor("192.0.2.3")), http.StatusBadRequest)
	}
	limited(t, loginAs(c, rs[1], "ed", forwardedFor("192.0.2.3")))

	if res := b.get(rs[0].url + "/metrics").text; !strings.Contains(res, `sessiond_login_attempts_total{result="limited"} 2`) {
		t.Fatal("limited attempts not counted on replica a")
	}
}

// TestLoginRateLimitOff: LOGIN_RATE_LIMIT=0 never refuses.
func TestLoginRateLimitOff(t *testing.T) {
	t.Parallel()
	r := newWorld(t).replica("off", options{loginLimit: 0})
	for range 30 {
		expect(t, loginAs(newBrowser(t), r, "fay"), http.StatusSeeOther)
	}
}

// TestLoginRateLimitLocal: the filesystem store's in-memory limiter.
func TestLoginRateLimitLocal(t *testing.T) {
	t.Parallel()
	r := filesReplica(t, options{loginLimit: 2})
	expect(t, loginAs(newBrowser(t), r, "gus"), http.StatusSeeOther)
	expect(t, loginAs(newBrowser(t), r, "gus"), http.StatusSeeOther)
	limited(t, loginAs(newBrowser(t), r, "gus"))
}

// TestLoginRateLimitStoreDown: when the limiter's Redis does not answer,
// a login is 503 with Retry-After (never a 500, never let through), and
// the page says what is true: a visitor without a session is not signed
// in; one with a session is as before.
func TestLoginRateLimitStoreDown(t *testing.T) {
	t.Parallel()
	limitRedis := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: limitRedis.Addr, MaxRetries: -1, ContextTimeoutEnabled: true,
		DialTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond})
	t.Cleanup(func() { client.Close() })
	r := filesReplica(t, options{limiter: ratelimit.NewRedis(client, redistest.Prefix(t), 5)})
	signedIn := newBrowser(t)
	expect(t, loginAs(signedIn, r, "hal"), http.StatusSeeOther)
	limitRedis.Stop()
	b := newBrowser(t)
	res := loginAs(b, r, "hal")
	unavailableWith(t, res, false, msgNotSignedIn)
	if b.cookieValue() != "" {
		t.Fatal("a login went through without the limiter")
	}
	cookie := signedIn.cookieValue()
	unavailable(t, loginAs(signedIn, r, "hal2"), false)
	if signedIn.cookieValue() != cookie || getMe(t, signedIn, &replica{url: r.url}).Name != "hal" {
		t.Fatal("a refused re-login changed the session")
	}
	if !strings.Contains(r.logs.String(), "ratelimit") {
		t.Fatalf("the cause is not logged: %s", r.logs)
	}
	// Other routes do not depend on it.
	expect(t, b.get(r.url+"/login"), http.StatusOK)
}

func TestRetrySeconds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   time.Duration
		want int
	}{
		{0, 1}, {-time.Second, 1}, {time.Nanosecond, 1}, {999 * time.Millisecond, 1}, {time.Second, 1},
		{1001 * time.Millisecond, 2}, {11500 * time.Millisecond, 12}, {time.Minute, 60},
	} {
		if got := retrySeconds(tc.in); got != tc.want {
			t.Errorf("retrySeconds(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if tooManyLogins(1) != "Too many sign-in attempts from your network address. Please wait 1 second and try again." {
		t.Errorf("singular: %s", tooManyLogins(1))
	}
}
