package http

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestThreeReplicas: login on one, the name on another, logout on a third.
func TestThreeReplicas(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rs := []*replica{w.replica("a", options{}), w.replica("b", options{}), w.replica("c", options{})}
	b := newBrowser(t)
	b.login(rs[0], "frank")
	res := b.get(rs[1].url + "/")
	expect(t, res, http.StatusOK)
	if res.Header.Get("X-Replica") != "b" || !containsAll(res.text, "Hello, frank!", "<code>b</code>") {
		t.Fatalf("replica b: %s %s", res.Header.Get("X-Replica"), res.text)
	}
	expect(t, b.post(rs[2].url+"/logout"), http.StatusSeeOther)
	for _, r := range rs {
		expect(t, b.get(r.url+"/api/me"), http.StatusUnauthorized)
	}
	if keys := w.sessionKeys(); len(keys) != 0 {
		t.Fatalf("sessions left after logout: %v", keys)
	}
}

// TestConcurrentCartAdds: 100 adds at once, spread over three replicas,
// all count.
func TestConcurrentCartAdds(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rs := []*replica{w.replica("a", options{}), w.replica("b", options{}), w.replica("c", options{})}
	b := newBrowser(t)
	b.login(rs[0], "gina")
	items := []string{"apple", "bread", "cheese", "dates"} // 25 each: under the 99 per item
	var wg sync.WaitGroup
	codes := make([]int, 100)
	for i := range 100 {
		wg.Go(func() {
			res, err := b.tryPost(rs[i%3].url+"/cart/add", "item", items[i%4])
			if err != nil {
				t.Error(err)
				return
			}
			codes[i] = res.StatusCode
		})
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusSeeOther {
			t.Fatalf("add %d: status %d", i, c)
		}
	}
	m := getMe(t, b, rs[1])
	total := int64(0)
	for _, it := range items {
		if m.Cart[it] != 25 {
			t.Errorf("%s: %d, want 25", it, m.Cart[it])
		}
		total += m.Cart[it]
	}
	if total != 100 {
		t.Fatalf("cart total %d, want 100: %v", total, m.Cart)
	}
}

// TestConcurrentThemeAndCart: changes of different fields at once are all
// kept; changes of the same field are retried, never half-applied.
func TestConcurrentThemeAndCart(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rs := []*replica{w.replica("a", options{}), w.replica("b", options{}), w.replica("c", options{})}
	b := newBrowser(t)
	b.login(rs[0], "hugo")
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			var res *response
			var err error
			if i == 15 {
				res, err = b.tryPost(rs[i%3].url+"/theme", "theme", "dark")
			} else {
				res, err = b.tryPost(rs[i%3].url+"/cart/add", "item", "tea", "qty", "3")
			}
			if err != nil {
				t.Error(err)
				return
			}
			if res.StatusCode != http.StatusSeeOther {
				t.Errorf("request %d: %d %.200s", i, res.StatusCode, res.text)
			}
		})
	}
	wg.Wait()
	m := getMe(t, b, rs[2])
	if m.Theme != "dark" || m.Cart["tea"] != 87 {
		t.Fatalf("after concurrent changes: theme %q, tea %d; want dark, 87", m.Theme, m.Cart["tea"])
	}

	// Same field from many requests: every answer is a redirect (applied)
	// or a 409 (clearly refused), and the stored value is one of them.
	for i := range 12 {
		wg.Go(func() {
			theme := []string{"light", "dark"}[i%2]
			res, err := b.tryPost(rs[i%3].url+"/theme", "theme", theme)
			if err != nil {
				t.Error(err)
				return
			}
			if c := res.StatusCode; c != http.StatusSeeOther && c != http.StatusConflict {
				t.Errorf("theme %d: status %d", i, c)
			}
		})
	}
	wg.Wait()
	if th := getMe(t, b, rs[0]).Theme; th != "light" && th != "dark" {
		t.Fatalf("theme %q", th)
	}
}

// TestLogoutRacesCartAdds: a logout among concurrent adds leaves no session
// behind; no add brings it back.
func TestLogoutRacesCartAdds(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rs := []*replica{w.replica("a", options{}), w.replica("b", options{}), w.replica("c", options{})}
	for round := range 5 {
		b := newBrowser(t)
		b.login(rs[0], fmt.Sprintf("ivan%d", round))
		cookie := b.cookieValue()
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				// Each request carries the session's cookie, even those
				// that leave after the logout's answer.
				tab := newBrowser(t)
				tab.setCookie(cookie)
				var res *response
				var err error
				if i == 10 {
					res, err = tab.tryPost(rs[i%3].url + "/logout")
				} else {
					res, err = tab.tryPost(rs[i%3].url+"/cart/add", "item", "milk")
				}
				if err != nil {
					t.Error(err)
					return
				}
				// Adds before the logout redirect home, after it to /login.
				if res.StatusCode != http.StatusSeeOther {
					t.Errorf("request %d: %d %.200s", i, res.StatusCode, res.text)
				}
			})
		}
		wg.Wait()
		if keys := w.sessionKeys(); len(keys) != 0 {
			t.Fatalf("round %d: sessions left after logout: %v", round, keys)
		}
		b.setCookie(cookie)
		expect(t, b.get(rs[1].url+"/api/me"), http.StatusUnauthorized)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
