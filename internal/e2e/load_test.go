package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kind is what a request of a simulated user came to.
type Kind int

const (
	OK          Kind = iota // the page with the greeting, or an add acknowledged (303 to /)
	Logout                  // sent to the login page, or 401: the session was lost
	Unavailable             // 503 with Retry-After: the store is down, as the contract allows
	ServerError             // any other 5xx: 500, nginx's 502/504, a 503 without Retry-After
	Unexpected              // any other answer: a 4xx, a page without the greeting, another redirect
	Transport               // no HTTP answer at all
	numKinds
)

var kindNames = [numKinds]string{"ok", "logout", "503", "5xx-other", "unexpected", "transport"}

func (k Kind) String() string { return kindNames[k] }

// Op is what a simulated user does.
type Op int

const (
	View Op = iota // GET /
	Add            // POST /cart/add, one of an item
	numOps
)

var opNames = [numOps]string{"page views", "cart adds"}

// Result is one request of a simulated user.
type Result struct {
	User    int
	Op      Op
	Item    string // of an Add
	Start   time.Time
	Latency time.Duration
	Kind    Kind
	Status  int
	Replica string // X-Replica of the answer
	Detail  string // the error, or what was unexpected
}

func (r Result) End() time.Time { return r.Start.Add(r.Latency) }

func (r Result) String() string {
	return fmt.Sprintf("user %d %s at +%s: %s (status %d, replica %q, %s) %s",
		r.User, opNames[r.Op], r.Start.Format("15:04:05.000"), r.Kind, r.Status, r.Replica,
		r.Latency.Round(time.Millisecond), r.Detail)
}

// LoadConfig bounds a load run: it ends at Stop, after MaxDuration, or
// after MaxRequests per user, whichever comes first.
type LoadConfig struct {
	Users       int
	Think       time.Duration // pause between a user's requests
	MaxDuration time.Duration
	MaxRequests int
}

// Load is simulated users, each with its own cookie jar, logged in through
// the balancer, mixing page views and cart adds (three views, one add).
type Load struct {
	base    string
	cfg     LoadConfig
	users   []*simUser
	tr      *http.Transport
	stop    chan struct{}
	wg      sync.WaitGroup
	started time.Time

	mu            sync.Mutex
	lastOKReplica map[string]time.Time
	lastOKUser    []time.Time
	bounded       bool // a user hit MaxDuration or MaxRequests before Stop
}

type simUser struct {
	idx    int
	name   string
	client *http.Client
	// Written by the user's goroutine only; read after it ended.
	results   []Result
	acked     map[string]int // adds answered 303 to /
	uncertain map[string]int // adds whose answer was lost or a 5xx: may or may not count
	adds      int
}

// StartLoad logs every user in through the balancer at base, then starts
// them. It fails the test if a login fails.
func StartLoad(t *testing.T, base, prefix string, cfg LoadConfig) *Load {
	t.Helper()
	l := &Load{
		base: base, cfg: cfg, stop: make(chan struct{}),
		tr:            &http.Transport{MaxIdleConnsPerHost: cfg.Users, IdleConnTimeout: 30 * time.Second},
		lastOKReplica: map[string]time.Time{},
		lastOKUser:    make([]time.Time, cfg.Users),
	}
	t.Cleanup(l.halt)
	for i := range cfg.Users {
		jar, _ := cookiejar.New(nil)
		u := &simUser{
			idx: i, name: fmt.Sprintf("%s-%d", prefix, i),
			client: &http.Client{
				Jar: jar, Transport: l.tr, Timeout: 15 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			},
			acked: map[string]int{}, uncertain: map[string]int{},
		}
		if err := u.login(base); err != nil {
			t.Fatalf("user %s: %v", u.name, err)
		}
		l.users = append(l.users, u)
	}
	l.started = time.Now()
	for _, u := range l.users {
		l.wg.Go(func() { l.run(u) })
	}
	return l
}

func (u *simUser) login(base string) error {
	resp, err := u.client.PostForm(base+"/login", url.Values{"name": {u.name}})
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		return fmt.Errorf("login: %s to %q, want 303 to /", resp.Status, resp.Header.Get("Location"))
	}
	return nil
}

func (l *Load) run(u *simUser) {
	deadline := l.started.Add(l.cfg.MaxDuration)
	for n := range l.cfg.MaxRequests {
		if time.Now().After(deadline) {
			break
		}
		op := View
		if n%4 == 3 {
			op = Add
		}
		r := l.request(u, op)
		u.results = append(u.results, r)
		l.note(u, r)
		select {
		case <-l.stop:
			return
		case <-time.After(l.cfg.Think):
		}
	}
	l.mu.Lock()
	l.bounded = true
	l.mu.Unlock()
}

func (l *Load) request(u *simUser, op Op) Result {
	r := Result{User: u.idx, Op: op}
	var req *http.Request
	if op == View {
		req, _ = http.NewRequest(http.MethodGet, l.base+"/", nil)
	} else {
		r.Item = fmt.Sprintf("item%d", u.adds%8) // at most MaxQty (99) of one item
		u.adds++
		form := url.Values{"item": {r.Item}, "qty": {"1"}}.Encode()
		req, _ = http.NewRequest(http.MethodPost, l.base+"/cart/add", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Start = time.Now()
	resp, err := u.client.Do(req)
	if err != nil {
		r.Latency = time.Since(r.Start)
		r.Kind, r.Detail = Transport, err.Error()
	} else {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		r.Latency = time.Since(r.Start)
		r.Status, r.Replica = resp.StatusCode, resp.Header.Get("X-Replica")
		r.Kind, r.Detail = classify(op, u.name, resp, body)
	}
	if op == Add {
		switch r.Kind {
		case OK:
			u.acked[r.Item]++
		case Unavailable, ServerError, Transport:
			u.uncertain[r.Item]++
		}
	}
	return r
}

func classify(op Op, name string, resp *http.Response, body []byte) (Kind, string) {
	loc := resp.Header.Get("Location")
	switch code := resp.StatusCode; {
	case code == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
		return Unavailable, ""
	case code >= 500:
		return ServerError, firstLine(body)
	case code == http.StatusUnauthorized || code/100 == 3 && loc == "/login":
		return Logout, ""
	case op == View && code == http.StatusOK:
		if bytes.Contains(body, []byte("Hello, "+name+"!")) {
			return OK, ""
		}
		return Unexpected, "page without the greeting: " + firstLine(body)
	case op == Add && code == http.StatusSeeOther && loc == "/":
		return OK, ""
	default:
		return Unexpected, fmt.Sprintf("Location %q: %s", loc, firstLine(body))
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

func (l *Load) note(u *simUser, r Result) {
	if r.Kind != OK {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastOKReplica[r.Replica] = r.End()
	l.lastOKUser[u.idx] = r.End()
}

// WaitServedBy waits until the balancer has sent a user's request that
// succeeded to replica id, answered after since; it returns how long after
// since. It fails the test after timeout.
func (l *Load) WaitServedBy(t *testing.T, id string, since time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	return l.waitFor(t, timeout, fmt.Sprintf("a request served by %s", id), func() (time.Time, bool) {
		at := l.lastOKReplica[id]
		return at, at.After(since)
	}, since)
}

// WaitAllOK waits until every user has had a success answered after since,
// and returns how long after since the last of them came.
func (l *Load) WaitAllOK(t *testing.T, since time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	return l.waitFor(t, timeout, "a success for every user", func() (time.Time, bool) {
		var latest time.Time
		for _, at := range l.lastOKUser {
			if !at.After(since) {
				return time.Time{}, false
			}
			if at.After(latest) {
				latest = at
			}
		}
		return latest, true
	}, since)
}

func (l *Load) waitFor(t *testing.T, timeout time.Duration, what string, cond func() (time.Time, bool), since time.Time) time.Duration {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		l.mu.Lock()
		at, ok := cond()
		bounded := l.bounded
		l.mu.Unlock()
		switch {
		case ok:
			return at.Sub(since)
		case bounded:
			t.Fatalf("load reached its bound while waiting for %s", what)
		case time.Now().After(deadline):
			t.Fatalf("no %s within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Run keeps the load going for d (a phase of a scenario, not a wait for a
// condition).
func (l *Load) Run(d time.Duration) { time.Sleep(d) }

// halt stops the users and waits for them (idempotent).
func (l *Load) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
	l.tr.CloseIdleConnections()
}

// Stop ends the load and returns what happened. It fails the test if the
// load hit its bounds before Stop: the scenario took longer than planned.
func (l *Load) Stop(t *testing.T) *Report {
	t.Helper()
	l.halt()
	if l.bounded {
		t.Errorf("the load reached its bound (%v or %d requests a user) before the scenario ended", l.cfg.MaxDuration, l.cfg.MaxRequests)
	}
	rep := &Report{users: l.users, started: l.started, ended: time.Now()}
	for _, u := range l.users {
		rep.Results = append(rep.Results, u.results...)
	}
	slices.SortFunc(rep.Results, func(a, b Result) int { return a.Start.Compare(b.Start) })
	return rep
}
