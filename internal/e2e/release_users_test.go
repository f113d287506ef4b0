package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The users of a side-by-side run: each device is one browser (one
// session cookie, kept by hand so that the test sees every Set-Cookie),
// and remembers what the service acknowledged to it. Every answer is
// checked as it comes; what went wrong is kept in a tally by kind and
// reported when the scenario ends, with counts.

// Kinds of problems a side-by-side run can find.
const (
	probSignOut    = "sign-outs"             // a signed-in device was answered as signed out
	probLost       = "lost changes"          // /api/me without an acknowledged change
	prob5xx        = "5xx or unanswered"     // any 5xx, or no answer at all
	probRevoke     = "incomplete revoke-all" // a session lived on after its name's revoke-all
	probLogout     = "incomplete logouts"    // a session lived on after its logout
	probUnexpected = "unexpected answers"    // any other answer the contract does not allow here
)

var probOrder = []string{probSignOut, probLost, prob5xx, probRevoke, probLogout, probUnexpected}

// tally counts what a scenario did and what went wrong.
type tally struct {
	mu       sync.Mutex
	requests int
	hops     int // requests served by another release than the device's previous one
	adds     int // acknowledged cart adds
	problems map[string][]string
}

func newTally() *tally { return &tally{problems: map[string][]string{}} }

func (tl *tally) problem(kind, format string, args ...any) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.problems[kind] = append(tl.problems[kind], fmt.Sprintf(format, args...))
}

// counts is the figures line for the test log.
func (tl *tally) counts() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	s := fmt.Sprintf("%d requests, %d hops between releases, %d acknowledged cart adds", tl.requests, tl.hops, tl.adds)
	for _, k := range probOrder {
		s += fmt.Sprintf(", %d %s", len(tl.problems[k]), k)
	}
	return s
}

// report fails t once per kind of problem seen, with the count and the
// first few of them.
func (tl *tally) report(t *testing.T) {
	t.Helper()
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, k := range probOrder {
		list := tl.problems[k]
		if len(list) == 0 {
			continue
		}
		show := list[:min(len(list), 8)]
		more := ""
		if len(list) > len(show) {
			more = fmt.Sprintf("\n    ... and %d more", len(list)-len(show))
		}
		t.Errorf("%d %s; want none:\n    %s%s", len(list), k, strings.Join(show, "\n    "), more)
	}
}

// target is where a request goes: one replica directly, or the balancer
// (id "lb": the answer's X-Replica says which replica served it).
type target struct {
	id, url string
}

func (tg target) String() string { return tg.id }

// device is one browser of a user.
type device struct {
	name  string // the user's name
	label string // the user's name, and which device when it has several
	ua    string // its User-Agent ("" is one naming the test and label)

	mu         sync.Mutex // the fields below; requests of one device may run at once
	cookie     string     // the session cookie's value ("" none)
	signedInOn string     // the replica of the last sign-in
	last       string     // the replica that answered last
	signedOut  bool       // seen signed out: the next step signs in again
	outOn      string     // the replica that signed it out
	cart       map[string]int
	theme      string // "" while none was chosen
	lastChange string // the replica that acknowledged the last change
}

func newDevice(name, label string) *device {
	return &device{name: name, label: label, cart: map[string]int{}}
}

// answer is one response, read whole.
type answer struct {
	status   int
	location string
	replica  string
	body     []byte
	err      error
	// sessionCookie is the answer's Set-Cookie of the session cookie, if any.
	sessionCookie *http.Cookie
}

// users sends the devices' requests and checks every answer.
type users struct {
	tl     *tally
	sideOf func(replica string) string // the release a replica runs
	client *http.Client
}

func newUsers(tl *tally, sideOf func(string) string) *users {
	return &users{tl: tl, sideOf: sideOf, client: &http.Client{
		Timeout: 20 * time.Second,
		// A new connection each time: no reuse of one that a draining
		// replica or a reloading nginx is closing.
		Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// send is one request of d to tg with d's cookie. It counts it, notes a
// hop between releases, applies the answer's session cookie to d, and
// reports an answer no request may get: a 5xx, none at all, another
// replica than the one asked, or a cookie expired while d was signed in
// (unless ending is set: a logout or revoke-all).
func (u *users) send(d *device, tg target, method, path string, form url.Values, ending bool) answer {
	d.mu.Lock()
	cookie := d.cookie
	d.mu.Unlock()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, tg.url+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	if d.ua != "" {
		req.Header.Set("User-Agent", d.ua)
	} else {
		req.Header.Set("User-Agent", "sessiond-e2e "+d.label)
	}
	what := method + " " + path
	u.tl.mu.Lock()
	u.tl.requests++
	u.tl.mu.Unlock()
	resp, err := u.client.Do(req)
	if err != nil {
		u.tl.problem(prob5xx, "%s: %s on %s: no answer: %v", d.label, what, tg, err)
		return answer{err: err}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	a := answer{status: resp.StatusCode, location: resp.Header.Get("Location"), replica: resp.Header.Get("X-Replica"), body: b, err: err}
	if a.status >= 500 {
		u.tl.problem(prob5xx, "%s: %s on %s answered %d: %s", d.label, what, a.replica, a.status, firstLine(b))
	}
	if tg.id != "lb" && a.replica != tg.id {
		u.tl.problem(probUnexpected, "%s: %s sent to %s was answered by %q", d.label, what, tg, a.replica)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last != "" && a.replica != "" && u.sideOf(d.last) != u.sideOf(a.replica) {
		u.tl.mu.Lock()
		u.tl.hops++
		u.tl.mu.Unlock()
	}
	prev := d.last
	if a.replica != "" {
		d.last = a.replica
	}
	for _, c := range resp.Cookies() {
		if c.Name != "session" {
			continue
		}
		a.sessionCookie = c
		if c.MaxAge < 0 || c.Value == "" || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			if !ending && d.cookie != "" && !d.signedOut {
				u.signedOutLocked(d, a.replica, prev, what, "its session cookie expired")
			}
			d.cookie = ""
			continue
		}
		d.cookie = c.Value
	}
	return a
}

// signedOutLocked reports d signed out by replica (d.mu held) and marks it
// to sign in again.
func (u *users) signedOutLocked(d *device, replica, prev, what, how string) {
	if d.signedOut {
		return // reported once, until it signs in again
	}
	d.signedOut, d.outOn = true, replica
	u.tl.problem(probSignOut, "%s signed out on %s after signing in on %s (previous answer from %s): %s: %s",
		d.label, replica, d.signedInOn, prev, what, how)
}

func (u *users) signedOut(d *device, a answer, what, how string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u.signedOutLocked(d, a.replica, d.last, what, how)
}

// login signs d in on tg (POST /login with its cookie, if any): 303 to /.
// A sign-in after d was seen signed out starts a new, empty session.
func (u *users) login(d *device, tg target) answer {
	d.mu.Lock()
	fresh := d.signedOut || d.cookie == ""
	if d.signedOut && (len(d.cart) > 0 || d.theme != "") {
		what := "cart " + sortedCart(d.cart)
		if d.theme != "" {
			what += ", theme " + d.theme
		}
		u.tl.problem(probLost, "%s: %s, acknowledged, lost with the session when %s signed it out (signed in on %s, the last change by %s)",
			d.label, what, d.outOn, d.signedInOn, d.lastChange)
		d.cart, d.theme = map[string]int{}, "" // reported once
	}
	d.mu.Unlock()
	a := u.send(d, tg, http.MethodPost, "/login", url.Values{"name": {d.name}}, false)
	if a.err != nil || a.status >= 500 {
		return a
	}
	if a.status != http.StatusSeeOther || a.location != "/" {
		u.tl.problem(probUnexpected, "%s: POST /login on %s = %d to %q, want 303 to /", d.label, a.replica, a.status, a.location)
		return a
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.signedInOn, d.signedOut = a.replica, false
	if fresh {
		d.cart, d.theme = map[string]int{}, ""
	}
	return a
}

// ensure signs d in again on tg when it was seen signed out, so that one
// loss is counted once and the scenario goes on.
func (u *users) ensure(d *device, tg target) {
	d.mu.Lock()
	out := d.signedOut
	d.mu.Unlock()
	if out {
		u.login(d, tg)
	}
}

// view is GET /: 200 greeting d by name.
func (u *users) view(d *device, tg target) {
	u.ensure(d, tg)
	a := u.send(d, tg, http.MethodGet, "/", nil, false)
	switch {
	case a.err != nil || a.status >= 500:
	case a.status/100 == 3 && a.location == "/login":
		u.signedOut(d, a, "GET /", fmt.Sprintf("%d to /login", a.status))
	case a.status != http.StatusOK || !strings.Contains(string(a.body), "Hello, "+d.name+"!"):
		u.tl.problem(probUnexpected, "%s: GET / on %s = %d without the greeting: %s", d.label, a.replica, a.status, firstLine(a.body))
	}
}

// change is a POST that d's session must acknowledge with 303 to /; apply
// records it in d once acknowledged.
func (u *users) change(d *device, tg target, path string, form url.Values, apply func()) bool {
	u.ensure(d, tg)
	what := "POST " + path
	a := u.send(d, tg, http.MethodPost, path, form, false)
	switch {
	case a.err != nil || a.status >= 500:
		return false
	case a.status/100 == 3 && a.location == "/login", a.status == http.StatusUnauthorized:
		u.signedOut(d, a, what, fmt.Sprintf("%d to %q", a.status, a.location))
		return false
	case a.status != http.StatusSeeOther || a.location != "/":
		u.tl.problem(probUnexpected, "%s: %s %v on %s = %d to %q, want 303 to /: %s", d.label, what, form, a.replica, a.status, a.location, firstLine(a.body))
		return false
	}
	d.mu.Lock()
	apply()
	d.lastChange = a.replica
	d.mu.Unlock()
	return true
}

// add is POST /cart/add; an acknowledged add counts in d's cart.
func (u *users) add(d *device, tg target, item string, qty int) {
	if u.change(d, tg, "/cart/add", url.Values{"item": {item}, "qty": {fmt.Sprint(qty)}}, func() { d.cart[item] += qty }) {
		u.tl.mu.Lock()
		u.tl.adds++
		u.tl.mu.Unlock()
	}
}

// setTheme is POST /theme.
func (u *users) setTheme(d *device, tg target, theme string) {
	u.change(d, tg, "/theme", url.Values{"theme": {theme}}, func() { d.theme = theme })
}

// me is GET /api/me: d's name, and exactly the theme and cart d was
// acknowledged. A difference is reported once, then taken as d's state.
func (u *users) me(d *device, tg target) {
	u.ensure(d, tg)
	a := u.send(d, tg, http.MethodGet, "/api/me", nil, false)
	switch {
	case a.err != nil || a.status >= 500:
		return
	case a.status == http.StatusUnauthorized:
		u.signedOut(d, a, "GET /api/me", "401")
		return
	case a.status != http.StatusOK:
		u.tl.problem(probUnexpected, "%s: GET /api/me on %s = %d: %s", d.label, a.replica, a.status, firstLine(a.body))
		return
	}
	var me struct {
		Name  string         `json:"name"`
		Theme string         `json:"theme"`
		Cart  map[string]int `json:"cart"`
	}
	if err := json.Unmarshal(a.body, &me); err != nil {
		u.tl.problem(probUnexpected, "%s: GET /api/me on %s: %v: %s", d.label, a.replica, err, firstLine(a.body))
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if me.Name != d.name {
		u.tl.problem(probUnexpected, "%s: GET /api/me on %s names %q", d.label, a.replica, me.Name)
	}
	if me.Cart == nil {
		me.Cart = map[string]int{}
	}
	if !maps.Equal(me.Cart, d.cart) {
		u.tl.problem(probLost, "%s: cart on %s is %v, want %v (acknowledged; the last change by %s, signed in on %s)",
			d.label, a.replica, sortedCart(me.Cart), sortedCart(d.cart), d.lastChange, d.signedInOn)
		d.cart = me.Cart
	}
	if d.theme != "" && me.Theme != d.theme {
		u.tl.problem(probLost, "%s: theme on %s is %q, want %q (acknowledged; the last change by %s)",
			d.label, a.replica, me.Theme, d.theme, d.lastChange)
		d.theme = me.Theme
	}
}

// sortedCart prints a cart in item order, for messages.
func sortedCart(c map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, c[k]))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// signedOutWith asks tg for /api/me with a cookie that must no longer be
// signed in; it returns whether it was (200), reporting other failures.
func (u *users) stillSignedIn(label, cookie string, tg target) (bool, answer) {
	d := newDevice("", label+" (old cookie)")
	d.cookie = cookie
	a := u.send(d, tg, http.MethodGet, "/api/me", nil, true)
	switch {
	case a.err != nil || a.status >= 500:
		return false, a
	case a.status == http.StatusOK:
		return true, a
	case a.status != http.StatusUnauthorized:
		u.tl.problem(probUnexpected, "%s: GET /api/me on %s = %d, want 401 or 200", d.label, a.replica, a.status)
	}
	return false, a
}
