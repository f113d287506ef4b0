package http

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/userdata"
)

// storeKinds are the stores the web layer runs on: three replicas on one
// Redis, or one replica on a filesystem store. Their tests send bursts of
// changes to one session and prove what the store keeps, not how fast it
// is: each store call may take burstTimeout. The filesystem store writes
// and syncs each change under one lock, so on a loaded 2-core machine
// under -race the last of 20 queued changes waited longer than the
// engine's 1s default and answered 503.
var storeKinds = []struct {
	name     string
	replicas func(t *testing.T) []*replica
}{
	{"redis", func(t *testing.T) []*replica {
		w := newWorld(t)
		o := options{timeout: burstTimeout}
		return []*replica{w.replica("a", o), w.replica("b", o), w.replica("c", o)}
	}},
	{"filesystem", func(t *testing.T) []*replica { return []*replica{filesReplica(t, options{timeout: burstTimeout})} }},
}

const burstTimeout = 10 * time.Second

// sent is one request of a burst and what came of it.
type sent struct {
	what string
	res  *response
	err  error
}

// burst sends the requests at once (each released by one signal, after
// every goroutine is ready) and returns their answers in order.
func burst(b *browser, reqs []func(*browser) (*response, error), names []string) []sent {
	out := make([]sent, len(reqs))
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i, req := range reqs {
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-start
			res, err := req(b)
			out[i] = sent{what: names[i], res: res, err: err}
		})
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

var retriesRe = regexp.MustCompile(`(?m)^sessiond_session_conflict_retries_total\{route="([^"]+)"\} ([0-9.e+]+)$`)

// conflictRetries sums, over rs, the changes re-applied after a conflict,
// by route (from /metrics).
func conflictRetries(t *testing.T, rs []*replica) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range rs {
		for _, m := range retriesRe.FindAllStringSubmatch(newBrowser(t).get(r.url+"/metrics").text, -1) {
			n, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Fatalf("metric %q: %v", m[0], err)
			}
			out[m[1]] += int(n)
		}
	}
	return out
}

// TestSameFieldConflictsAreRetried: concurrent requests of one session
// that change the same field really conflict, and each conflict is
// re-applied from a fresh read (maxTries in all) instead of answered 409.
//
// Each round sends at once: the two themes other than the current one
// (whichever commits second finds the field changed: a compare-and-set
// conflict), and "remove all tea" with two "add one tea" (an add that
// commits between the remove's read and its commit changes the quantity
// the remove compares against). A request meets at most as many conflicts
// as there are other requests of its field in the round: one for a theme,
// two for the remove, so three tries always suffice, and every answer is a
// 303. The theme ends as one of the two sent, and the tea as the adds
// applied after the remove: at most two.
func TestSameFieldConflictsAreRetried(t *testing.T) {
	t.Parallel()
	for _, store := range storeKinds {
		t.Run(store.name, func(t *testing.T) {
			t.Parallel()
			rs := store.replicas(t)
			at := func(i int) string { return rs[i%len(rs)].url }
			b := newBrowser(t)
			b.login(rs[0], "conflicted")
			current := "system"
			const rounds = 20
			for round := range rounds {
				expect(t, b.post(at(round)+"/cart/add", "item", "tea"), http.StatusSeeOther) // something to remove
				var themes []string
				for _, th := range userdata.Themes() {
					if string(th) != current {
						themes = append(themes, string(th))
					}
				}
				reqs := []func(*browser) (*response, error){
					func(b *browser) (*response, error) { return b.tryPost(at(0)+"/theme", "theme", themes[0]) },
					func(b *browser) (*response, error) { return b.tryPost(at(1)+"/theme", "theme", themes[1]) },
					func(b *browser) (*response, error) { return b.tryPost(at(2)+"/cart/remove", "item", "tea") },
					func(b *browser) (*response, error) { return b.tryPost(at(3)+"/cart/add", "item", "tea") },
					func(b *browser) (*response, error) { return b.tryPost(at(4)+"/cart/add", "item", "tea") },
				}
				names := []string{"theme " + themes[0], "theme " + themes[1], "remove tea", "add tea", "add tea"}
				for _, s := range burst(b, reqs, names) {
					switch {
					case s.err != nil:
						t.Errorf("round %d, %s: %v", round, s.what, s.err)
					case s.res.StatusCode != http.StatusSeeOther || s.res.Header.Get("Location") != "/":
						t.Errorf("round %d, %s: %d %q, want 303 to / (a conflict is retried, not refused): %.300s",
							round, s.what, s.res.StatusCode, s.res.Header.Get("Location"), s.res.text)
					}
				}
				m := getMe(t, b, rs[round%len(rs)])
				if !slices.Contains(themes, m.ThemeChoice) {
					t.Errorf("round %d: theme %q after sending %q at once", round, m.ThemeChoice, themes)
				}
				if m.Cart["tea"] > 2 {
					t.Errorf("round %d: %d tea after removing all and adding 2 at once, want at most 2", round, m.Cart["tea"])
				}
				if t.Failed() {
					t.FailNow()
				}
				current = m.ThemeChoice
			}
			retries := conflictRetries(t, rs)
			t.Logf("%d rounds: conflicts retried by route %v", rounds, retries)
			if retries["/theme"]+retries["/cart/remove"] == 0 {
				t.Errorf("no conflict in %d rounds of concurrent changes of one field: the retry was not exercised", rounds)
			}
		})
	}
}

// TestConcurrentAddsStopAtTheMaximum: with 90 of an item (of the 99
// allowed), 20 adds of one at once. Each handler checks the maximum
// against the cart it loaded, which most of them loaded at under 99, so
// the check that holds is the store's, inside its atomic increment: exactly
// 9 adds are applied, the cart holds 99, and every other add answers 422,
// never a quantity past the maximum.
func TestConcurrentAddsStopAtTheMaximum(t *testing.T) {
	t.Parallel()
	const have, adds = userdata.MaxQty - 9, 20
	// What the store's refusal says; the handler's own says "you have N".
	storeSays := "That would go over a limit of your cart."
	handlerSays := fmt.Sprintf("You can have at most %d of one item", userdata.MaxQty)
	for _, store := range storeKinds {
		t.Run(store.name, func(t *testing.T) {
			t.Parallel()
			rs := store.replicas(t)
			byStore, byHandler := 0, 0
			const rounds = 5
			for round := range rounds {
				b := newBrowser(t)
				b.login(rs[0], fmt.Sprintf("full%d", round))
				expect(t, b.post(rs[0].url+"/cart/add", "item", "tea", "qty", strconv.Itoa(have)), http.StatusSeeOther)
				reqs := make([]func(*browser) (*response, error), adds)
				names := make([]string, adds)
				for i := range reqs {
					url := rs[i%len(rs)].url
					reqs[i] = func(b *browser) (*response, error) { return b.tryPost(url+"/cart/add", "item", "tea") }
					names[i] = fmt.Sprintf("add %d", i)
				}
				applied := 0
				for _, s := range burst(b, reqs, names) {
					switch {
					case s.err != nil:
						t.Errorf("round %d, %s: %v", round, s.what, s.err)
					case s.res.StatusCode == http.StatusSeeOther:
						applied++
					case s.res.StatusCode != http.StatusUnprocessableEntity:
						t.Errorf("round %d, %s: %d, want 303 or 422: %.300s", round, s.what, s.res.StatusCode, s.res.text)
					case strings.Contains(s.res.text, storeSays):
						byStore++
					case strings.Contains(s.res.text, handlerSays):
						byHandler++
					default:
						t.Errorf("round %d, %s: 422 without the limit's message: %.300s", round, s.what, s.res.text)
					}
				}
				got := getMe(t, b, rs[0]).Cart["tea"]
				if got != userdata.MaxQty || applied != userdata.MaxQty-have {
					t.Fatalf("round %d: %d adds of one at once to %d: %d answered 303 and the cart holds %d; want %d applied and %d",
						round, adds, have, applied, got, userdata.MaxQty-have, userdata.MaxQty)
				}
			}
			t.Logf("%d rounds of %d adds at once: refused by the store's atomic check %d, by the handler's %d", rounds, adds, byStore, byHandler)
			if byStore == 0 {
				t.Errorf("in %d rounds no add got past the handler's check to the store's: the store's maximum was not exercised", rounds)
			}
		})
	}
}
