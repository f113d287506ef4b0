package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRefusedRedisAnswers503AtOnce: with redis-server stopped (its port
// closed, so every dial is refused), each replica answers a logged-in
// user's page view and cart add with 503 + Retry-After well within
// REDIS_TIMEOUT, from the first request on, instead of retrying the dial
// until the timeout; /readyz says 503 as fast. When Redis is started again
// every replica serves the user again by itself.
func TestRefusedRedisAnswers503AtOnce(t *testing.T) {
	const timeout = 2 * time.Second
	// At once: a few milliseconds of retries, not the timeout. Half the
	// timeout is slack for a loaded 2-core machine (an answer took 623 ms
	// there), and still well short of what the bound guards against: with
	// go-redis' default pool retry (DialerRetries 5) each answer takes at
	// least 1.7 s.
	const bound = timeout / 2
	top := StartTopology(t, Options{RedisTimeout: timeout})
	users := make([]*refusedUser, len(top.Replicas))
	for i, r := range top.Replicas {
		users[i] = newRefusedUser(t, r.URL(), "refused-"+r.ID)
	}

	top.Redis.Stop()
	var slowest time.Duration
	for i, r := range top.Replicas {
		u := users[i]
		for n := range 3 { // the first one before go-redis' dial breaker opens
			for _, req := range []struct{ method, path string }{
				{http.MethodGet, "/"}, {http.MethodPost, "/cart/add"}, {http.MethodGet, "/readyz"},
			} {
				code, retryAfter, took := u.do(t, req.method, req.path)
				slowest = max(slowest, took)
				if code != http.StatusServiceUnavailable || retryAfter == "" {
					t.Errorf("replica %s, %s %s #%d with Redis refusing connections: %d (Retry-After %q), want 503 with Retry-After",
						r.ID, req.method, req.path, n+1, code, retryAfter)
				}
				if took > bound {
					t.Errorf("replica %s, %s %s #%d with Redis refusing connections took %v, want within %v (REDIS_TIMEOUT %v)",
						r.ID, req.method, req.path, n+1, took.Round(time.Millisecond), bound, timeout)
				}
			}
		}
	}
	t.Logf("with Redis refusing connections: 27 answers 503, the slowest in %v (REDIS_TIMEOUT %v)", slowest.Round(time.Millisecond), timeout)

	top.Redis.Start()
	upAt := time.Now()
	for i, r := range top.Replicas {
		u := users[i]
		for {
			code, _, _ := u.do(t, http.MethodGet, "/")
			if code == http.StatusOK {
				break
			}
			if time.Since(upAt) > 10*time.Second {
				t.Fatalf("replica %s: GET / = %d 10s after Redis came back, want 200", r.ID, code)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("every replica served the user again %v after Redis came back", time.Since(upAt).Round(time.Millisecond))
}

// refusedUser is one logged-in browser talking to one replica directly.
type refusedUser struct {
	base   string
	client *http.Client
}

func newRefusedUser(t *testing.T, base, name string) *refusedUser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u := &refusedUser{base: base, client: &http.Client{
		Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	resp, err := u.client.PostForm(base+"/login", url.Values{"name": {name}})
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: %s, want 303", name, resp.Status)
	}
	return u
}

// do sends one request (a cart add of one apple for POST) and returns the
// status, the Retry-After header and how long the answer took.
func (u *refusedUser) do(t *testing.T, method, path string) (int, string, time.Duration) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(url.Values{"item": {"apple"}}.Encode())
	}
	req, _ := http.NewRequest(method, u.base+path, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	start := time.Now()
	resp, err := u.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start)
}
