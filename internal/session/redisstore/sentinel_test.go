package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/redisconn"
	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/ginsession"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

// A Sentinel failover under load: simulated users log in, then read and
// increment a counter in a loop on two service replicas (Managers on their
// own FailoverClients) while the master is killed with SIGKILL. Measured:
// the 503 window, failed operations by kind, and acknowledged writes lost,
// with and without WAIT for logins, and with the replication link cut just
// before the crash (the case asynchronous replication loses writes in).
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	for _, tc := range []failoverCase{
		{name: "plain"},
		{name: "wait", wait: true},
		{name: "link-cut", cutLink: true},
		{name: "link-cut+wait", wait: true, cutLink: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runFailover(t, tc)
		})
	}
}

type failoverCase struct {
	name    string
	wait    bool // logins, regenerates and logouts WAIT for the replica
	cutLink bool // the replication link is partitioned 300ms before the master dies
}

const (
	failoverUsers    = 5
	failoverChurners = 2
	failoverTick     = 20 * time.Millisecond
	waitTimeout      = 200 * time.Millisecond
)

// failoverRouter is the part of the service the load needs.
func failoverRouter(m *session.Manager) *gin.Engine {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(ginsession.Middleware(m, func(c *gin.Context, err error) {
		c.String(statusOf(err), err.Error())
	}))
	r.POST("/login/:u", func(c *gin.Context) {
		ginsession.From(c).Login(c.Param("u"))
		c.String(200, "ok")
	})
	r.GET("/me", func(c *gin.Context) {
		s := ginsession.From(c)
		if s.User() == "" {
			c.String(http.StatusUnauthorized, "logged out")
			return
		}
		c.String(200, "%s %d", s.User(), s.Int("n"))
	})
	r.POST("/incr", func(c *gin.Context) {
		s := ginsession.From(c)
		if s.User() == "" {
			c.String(http.StatusUnauthorized, "logged out")
			return
		}
		s.Incr("n", 1, 0)
		c.String(200, "ok")
	})
	return r
}

func statusOf(err error) int {
	switch {
	case session.IsUnavailable(err):
		return http.StatusServiceUnavailable
	case errors.Is(err, session.ErrGone):
		return http.StatusGone
	case errors.Is(err, session.ErrConflict):
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}

func call(r http.Handler, method, path, cookie string) (code int, body, setCookie string) {
	req, _ := http.NewRequestWithContext(context.Background(), method, path, nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "session" && c.MaxAge >= 0 {
			setCookie = c.Value
		}
	}
	return rec.Code, strings.TrimSpace(rec.Body.String()), setCookie
}

// event is one finished operation of the load.
type event struct {
	op         string // read, incr, login
	code       int
	start, end time.Time
}

type loadLog struct {
	mu     sync.Mutex
	events []event
}

func (l *loadLog) add(op string, code int, start time.Time) {
	l.mu.Lock()
	l.events = append(l.events, event{op, code, start, time.Now()})
	l.mu.Unlock()
}

type ackedLogin struct {
	name, cookie string
	at           time.Time
}

func runFailover(t *testing.T, tc failoverCase) {
	s := redistest.StartSentinelWith(t, redistest.SentinelConfig{LinkProxy: tc.cutLink})
	var routers []http.Handler
	var backends []session.Backend
	for range 2 {
		c, err := redisconn.Open(s.URL(), redisconn.Options{Timeout: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		var b session.Backend = New(c)
		if tc.wait {
			b = WithWait(New(c), 1, waitTimeout)
		}
		backends = append(backends, b)
		routers = append(routers, failoverRouter(sessiontest.MustManager(t, b, "", nil)))
	}
	if tc.wait {
		logLoginCost(t, backends[0].(*Store), s.Master())
	}

	// users log in, then read and increment until stopped
	var log loadLog
	var stop atomic.Bool
	var wg sync.WaitGroup
	cookies := make([]string, failoverUsers)
	acked := make([]int64, failoverUsers)              // increments answered 200
	unknown := make([]int64, failoverUsers)            // increments that failed: applied or not
	var killedAt atomic.Int64                          // unix ns, 0 before the kill
	servedAgain := make([]atomic.Int64, failoverUsers) // first read+incr begun after the kill and ok
	for u := range failoverUsers {
		code, _, c := call(routers[u%2], "POST", fmt.Sprintf("/login/u%d", u), "")
		if code != 200 || c == "" {
			t.Fatalf("login of u%d: %d", u, code)
		}
		cookies[u] = c
	}
	deadline := time.Now().Add(60 * time.Second)
	for u := range failoverUsers {
		wg.Go(func() {
			for i := 0; i < 5000 && !stop.Load() && time.Now().Before(deadline); i++ {
				r := routers[i%2]
				start := time.Now()
				k := killedAt.Load()
				code, _, _ := call(r, "GET", "/me", cookies[u])
				log.add("read", code, start)
				begun := start
				start = time.Now()
				code2, _, _ := call(r, "POST", "/incr", cookies[u])
				log.add("incr", code2, start)
				switch code2 {
				case 200:
					acked[u]++
				default:
					unknown[u]++
				}
				if code == 200 && code2 == 200 && k != 0 && begun.UnixNano() > k {
					servedAgain[u].CompareAndSwap(0, time.Now().UnixNano())
				}
				time.Sleep(failoverTick)
			}
		})
	}
	var loginsMu sync.Mutex
	var logins []ackedLogin
	for g := range failoverChurners {
		wg.Go(func() {
			for i := 0; i < 5000 && !stop.Load() && time.Now().Before(deadline); i++ {
				name := fmt.Sprintf("c%d-%d", g, i)
				start := time.Now()
				code, _, c := call(routers[i%2], "POST", "/login/"+name, "")
				log.add("login", code, start)
				if code == 200 {
					loginsMu.Lock()
					logins = append(logins, ackedLogin{name, c, time.Now()})
					loginsMu.Unlock()
				}
				time.Sleep(failoverTick)
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()

	time.Sleep(time.Second)
	master, replica := s.Master(), s.Replica()
	if tc.cutLink {
		// a partition of the replication link: the master goes on
		// acknowledging writes that reach no replica, then crashes
		s.CutReplication()
		time.Sleep(300 * time.Millisecond)
	}
	lag := replicationLag(t, master, replica)
	killAt := time.Now()
	killedAt.Store(killAt.UnixNano())
	s.KillMaster()
	newMaster := s.WaitForNewMaster(30 * time.Second)
	switchAt := time.Now()
	var allBackAt time.Time
	for u := range failoverUsers { // every user served again, by itself
		for servedAgain[u].Load() == 0 {
			if time.Since(switchAt) > 15*time.Second {
				t.Fatalf("user %d not served 15s after the new master %s was named", u, newMaster)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if at := time.Unix(0, servedAgain[u].Load()); at.After(allBackAt) {
			allBackAt = at
		}
	}
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	// What survived: each user's counter against its acknowledged increments,
	// each acknowledged login against the store.
	var lostIncr, unackedApplied, totalAcked int64
	for u := range failoverUsers {
		code, body, _ := call(routers[0], "GET", "/me", cookies[u])
		name, nStr, _ := strings.Cut(body, " ")
		if code != 200 || name != fmt.Sprintf("u%d", u) {
			t.Errorf("user %d after the failover: %d %q (a silent logout)", u, code, body)
			continue
		}
		n, _ := strconv.ParseInt(nStr, 10, 64)
		totalAcked += acked[u]
		if n < acked[u] {
			lostIncr += acked[u] - n
		}
		if n > acked[u] {
			unackedApplied += n - acked[u]
			if n > acked[u]+unknown[u] {
				t.Errorf("user %d: counter %d, more than the %d+%d increments sent", u, n, acked[u], unknown[u])
			}
		}
	}
	var lost []ackedLogin
	for _, l := range logins {
		if code, body, _ := call(routers[1], "GET", "/me", l.cookie); code != 200 || !strings.HasPrefix(body, l.name+" ") {
			lost = append(lost, l)
		}
	}

	// The outage as the users saw it.
	failed := map[string]int{}
	var firstFail, firstOK time.Time // after the kill
	for _, e := range log.events {
		if e.code == 200 {
			if e.start.After(killAt) && (firstOK.IsZero() || e.end.Before(firstOK)) {
				firstOK = e.end
			}
			continue
		}
		when := "after the kill"
		if e.end.Before(killAt) {
			when = "before the kill"
		} else if firstFail.IsZero() || e.end.Before(firstFail) {
			firstFail = e.end
		}
		failed[fmt.Sprintf("%s %d %s", e.op, e.code, when)]++
		if e.code != http.StatusServiceUnavailable {
			t.Errorf("%s failed with %d: only 503 is allowed during a failover", e.op, e.code)
		}
	}
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	since := func(at time.Time) string {
		if at.IsZero() {
			return "never"
		}
		return ms(at.Sub(killAt))
	}
	t.Logf("%s: %d ops by %d users and %d login loops; unreplicated bytes at the kill %d; after the kill: first failure %s, "+
		"sentinels name the new master %s, first success %s, all users served %s",
		tc.name, len(log.events), failoverUsers, failoverChurners, lag, since(firstFail),
		since(switchAt), since(firstOK), since(allBackAt))
	t.Logf("%s: failed ops %v", tc.name, failed)
	t.Logf("%s: acknowledged increments lost %d of %d; failed increments applied anyway %d",
		tc.name, lostIncr, totalAcked, unackedApplied)
	lostLine := fmt.Sprintf("%d of %d", len(lost), len(logins))
	if len(lost) > 0 {
		lostLine += fmt.Sprintf(", acknowledged %s to %s before the kill", ms(killAt.Sub(lost[len(lost)-1].at)), ms(killAt.Sub(lost[0].at)))
	}
	t.Logf("%s: acknowledged logins lost %s", tc.name, lostLine)
	if tc.wait && len(lost) > 0 {
		t.Errorf("with WAIT, %d acknowledged logins were lost", len(lost))
	}
}

// replicationLag is how far (bytes) the replica's replication offset is
// behind the master's.
func replicationLag(t *testing.T, master, replica *redistest.Server) int64 {
	ctx := context.Background()
	off := func(s *redistest.Server, field string) int64 {
		info, err := s.Client(t).Info(ctx, "replication").Result()
		if err != nil {
			return -1
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		return -1
	}
	// read the replica first: it can only be behind
	r := off(replica, "slave_repl_offset")
	return max(0, off(master, "master_repl_offset")-r)
}

// logLoginCost logs what WAIT adds to a login on a quiet setup: the same
// session.Manager's logins with and without WAIT, interleaved.
func logLoginCost(t *testing.T, w *Store, master *redistest.Server) {
	unwaited := *w
	unwaited.wait = nil
	plain := failoverRouter(sessiontest.MustManager(t, &unwaited, "", nil))
	waited := failoverRouter(sessiontest.MustManager(t, w, "", nil))
	var dPlain, dWait []time.Duration
	for i := range 200 {
		for _, r := range []struct {
			h http.Handler
			d *[]time.Duration
		}{{plain, &dPlain}, {waited, &dWait}} {
			start := time.Now()
			if code, _, _ := call(r.h, "POST", fmt.Sprintf("/login/cost%d", i), ""); code != 200 {
				t.Fatalf("login: %d", code)
			}
			*r.d = append(*r.d, time.Since(start))
		}
	}
	q := func(ds []time.Duration, p float64) time.Duration {
		s := slices.Clone(ds)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[int(p*float64(len(s)-1))].Round(time.Microsecond)
	}
	mc := master.Client(t)
	before := redistest.CommandStats(t, mc)
	for i := range 10 {
		call(waited, "POST", fmt.Sprintf("/login/count%d", i), "")
	}
	t.Logf("10 logins with WAIT ran %v on the master", redistest.Diff(before, redistest.CommandStats(t, mc), "info", "hello", "client"))
	t.Logf("login latency over 200 logins each (in-process, with the race detector if on): without WAIT p50 %v p99 %v; with WAIT 1 p50 %v p99 %v",
		q(dPlain, .5), q(dPlain, .99), q(dWait, .5), q(dWait, .99))
}
