package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// Report is the record of a load run.
type Report struct {
	Results        []Result // by start time
	users          []*simUser
	started, ended time.Time
}

// Select returns the results for which keep is true.
func (rep *Report) Select(keep func(Result) bool) []Result {
	var out []Result
	for _, r := range rep.Results {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// Summary is the figures of the run, for the test log.
func (rep *Report) Summary() string {
	var n [numOps][numKinds]int
	replicas := map[string]int{}
	for _, r := range rep.Results {
		n[r.Op][r.Kind]++
		if r.Kind == OK {
			replicas[r.Replica]++
		}
	}
	var b strings.Builder
	d := rep.ended.Sub(rep.started).Seconds()
	fmt.Fprintf(&b, "%d users, %d requests in %.1fs (%.0f/s)", len(rep.users), len(rep.Results), d, float64(len(rep.Results))/d)
	for op := range numOps {
		total := 0
		for _, c := range n[op] {
			total += c
		}
		fmt.Fprintf(&b, "\n  %s: %d", opNames[op], total)
		for k := range numKinds {
			fmt.Fprintf(&b, ", %s %d", Kind(k), n[op][k])
		}
	}
	keys := make([]string, 0, len(replicas))
	for k := range replicas {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(&b, "\n  successes by replica:")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s %d", k, replicas[k])
	}
	return b.String()
}

// Failures are the results that are not OK, of the given ops.
func (rep *Report) Failures(ops ...Op) []Result {
	return rep.Select(func(r Result) bool { return r.Kind != OK && slices.Contains(ops, r.Op) })
}

// logSome logs up to 10 results, and how many there were.
func logSome(t *testing.T, what string, rs []Result) {
	t.Helper()
	if len(rs) == 0 {
		return
	}
	var b strings.Builder
	for i, r := range rs {
		if i == 10 {
			fmt.Fprintf(&b, "\n  ... and %d more", len(rs)-10)
			break
		}
		fmt.Fprintf(&b, "\n  %s", r)
	}
	t.Logf("%s: %d%s", what, len(rs), b.String())
}

// RecoveredAfter is, per user, the first success that started after since;
// it returns the latest of them, measured from since (how long until every
// user was served again), and the earliest.
func (rep *Report) RecoveredAfter(since time.Time) (all, first time.Duration, ok bool) {
	first = -1
	for _, u := range rep.users {
		i := slices.IndexFunc(u.results, func(r Result) bool { return r.Kind == OK && !r.Start.Before(since) })
		if i < 0 {
			return 0, 0, false
		}
		d := u.results[i].End().Sub(since)
		all = max(all, d)
		if first < 0 || d < first {
			first = d
		}
	}
	return all, first, true
}

// CheckSessions asks, through the balancer, for every user's session
// (GET /api/me): each must still be logged in under its name, and each
// cart item must hold its acknowledged adds, plus at most the adds whose
// answer was lost or a 5xx (those may or may not have counted; none may
// count twice).
func (rep *Report) CheckSessions(t *testing.T, base string) {
	t.Helper()
	var acked, uncertain, counted, have int
	for _, u := range rep.users {
		resp, err := u.client.Get(base + "/api/me")
		if err != nil {
			t.Errorf("user %s: GET /api/me: %v", u.name, err)
			continue
		}
		var me struct {
			Name string         `json:"name"`
			Cart map[string]int `json:"cart"`
		}
		err = json.NewDecoder(resp.Body).Decode(&me)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil || me.Name != u.name {
			t.Errorf("user %s: GET /api/me = %s (replica %s), name %q, decode error %v: want 200 with the user's session",
				u.name, resp.Status, resp.Header.Get("X-Replica"), me.Name, err)
			continue
		}
		items := map[string]bool{}
		for _, m := range []map[string]int{me.Cart, u.acked, u.uncertain} {
			for it := range m {
				items[it] = true
			}
		}
		for it := range items {
			lo, hi, got := u.acked[it], u.acked[it]+u.uncertain[it], me.Cart[it]
			if got < lo || got > hi {
				t.Errorf("user %s: cart has %d of %s; %d adds were acknowledged and %d had no clear answer, so want %d to %d",
					u.name, got, it, lo, u.uncertain[it], lo, hi)
			}
			acked += u.acked[it]
			uncertain += u.uncertain[it]
			have += got
			if got > lo {
				counted += got - lo
				logSome(t, fmt.Sprintf("user %s: %d of these adds of %s counted", u.name, got-lo, it),
					slices.DeleteFunc(slices.Clone(u.results), func(r Result) bool {
						return r.Op != Add || r.Item != it || r.Kind == OK || r.Kind == Logout || r.Kind == Unexpected
					}))
			}
		}
	}
	t.Logf("sessions: %d users still logged in; carts hold %d items for %d acknowledged adds; %d of %d adds without a clear answer counted",
		len(rep.users), have, acked, counted, uncertain)
}
