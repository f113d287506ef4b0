package http

import (
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var deviceRe = regexp.MustCompile(`<li class="card( current)?">\s*<h2 class="device">`)

// TestSessionsPageWording: this session first (on the page and in the
// API), times relative to now with the exact time at hand, and an "Ends"
// that says what ends the session.
func TestSessionsPageWording(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	start := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)
	clock.Store(start.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	// The store's clock stamps the times a session shows: the filesystem
	// store's can be set; Redis' is Redis'.
	r := filesReplica(t, options{now: now, idle: 20 * time.Hour, lifetime: 24 * time.Hour})
	at := func(d time.Duration) (iso, exact string) {
		tm := start.Add(d)
		return tm.Format(time.RFC3339), tm.Format("2 Jan 2006, 15:04 UTC")
	}

	first, second := newBrowser(t), newBrowser(t)
	first.login(r, "uma")
	clock.Add(int64(5 * time.Minute))
	second.login(r, "uma")
	clock.Add(int64(2 * time.Minute))

	page := second.get(r.url + "/sessions").text
	rows := deviceRe.FindAllStringSubmatch(page, -1)
	if len(rows) != 2 || rows[0][1] != " current" || rows[1][1] != "" {
		t.Fatalf("want this session first of two: %q in %s", rows, page)
	}
	iso0, exact0 := at(0)
	iso5, exact5 := at(5 * time.Minute)
	iso7, exact7 := at(7 * time.Minute)
	end0iso, end0 := at(24 * time.Hour)
	end5iso, end5 := at(24*time.Hour + 5*time.Minute)
	for _, want := range []string{
		// This one: used by this very request.
		`<dt>Signed in</dt><dd><time datetime="` + iso5 + `" title="` + exact5 + `">2 minutes ago</time></dd>`,
		`<dt>Last active</dt><dd><time datetime="` + iso7 + `" title="` + exact7 + `">just now</time></dd>`,
		`Signs out after 20 hours without use, at the latest on <time datetime="` + end5iso + `">` + end5 + `</time>.`,
		// The other one.
		`<dt>Signed in</dt><dd><time datetime="` + iso0 + `" title="` + exact0 + `">7 minutes ago</time></dd>`,
		`Signs out after 20 hours without use, at the latest on <time datetime="` + end0iso + `">` + end0 + `</time>.`,
		`action="/sessions/revoke-others"`, "Log out everywhere",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("sessions page lacks %s", want)
		}
	}
	if strings.Index(page, ">2 minutes ago<") > strings.Index(page, ">7 minutes ago<") {
		t.Error("this session is not listed first")
	}
	if list := apiSessionsOf(t, first, r); len(list) != 2 || !list[0].Current {
		t.Errorf("api/sessions does not list this session first: %+v", list)
	}

	// Five hours on, 20 hours without use would pass the lifetime: the end
	// is a time.
	clock.Add(int64(5 * time.Hour))
	page = first.get(r.url + "/sessions").text
	for _, want := range []string{
		`Signs out on <time datetime="` + end0iso + `">` + end0 + `</time> (in 19 hours): sessions last at most 24 hours.`,
		`title="` + exact0 + `">5 hours ago</time>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("sessions page five hours on lacks %s: %s", want, page)
		}
	}
}

// TestRevokeOthersAndNotices: "Sign out of the other sessions" ends all
// but this one and says how many; revoking one names its device.
func TestRevokeOthersAndNotices(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{})
	me := newBrowser(t)
	me.login(r, "vic")
	others := []*browser{newBrowser(t), newBrowser(t), newBrowser(t)}
	for _, o := range others {
		o.login(r, "vic")
	}
	stranger := newBrowser(t)
	stranger.login(r, "wes")

	var otherID string
	for _, s := range apiSessionsOf(t, me, r) {
		if !s.Current {
			otherID = s.ID
		}
	}
	res := me.do(http.MethodPost, r.url+"/sessions/revoke", form("id", otherID), func(q *http.Request) {
		q.Header.Set("User-Agent", "x") // the label is the revoked session's, not this request's
	})
	expect(t, res, http.StatusSeeOther)
	if got := noticesOn(me.get(r.url + "/sessions").text); len(got) != 1 || got[0] != "Signed out of Go client." {
		t.Fatalf("notices after revoking one: %q", got)
	}

	res = me.post(r.url + "/sessions/revoke-others")
	expect(t, res, http.StatusSeeOther)
	if res.Header.Get("Location") != "/sessions" {
		t.Fatalf("revoke-others goes to %q", res.Header.Get("Location"))
	}
	page := me.get(r.url + "/sessions").text
	if got := noticesOn(page); len(got) != 1 || got[0] != "Signed out of 2 other sessions." {
		t.Fatalf("notices after revoke-others: %q", got)
	}
	if strings.Contains(page, `action="/sessions/revoke-others"`) {
		t.Error("the page offers to sign out of other sessions when there are none")
	}
	for _, o := range others {
		expect(t, o.get(r.url+"/api/me"), http.StatusUnauthorized)
	}
	expect(t, me.get(r.url+"/api/me"), http.StatusOK)
	expect(t, stranger.get(r.url+"/api/me"), http.StatusOK)
	if n := len(apiSessionsOf(t, me, r)); n != 1 {
		t.Fatalf("%d sessions left, want this one", n)
	}
	expect(t, me.post(r.url+"/sessions/revoke-others"), http.StatusSeeOther)
	if got := noticesOn(me.get(r.url + "/sessions").text); len(got) != 1 || got[0] != "You were signed in nowhere else." {
		t.Fatalf("notices after revoke-others with none: %q", got)
	}
}
