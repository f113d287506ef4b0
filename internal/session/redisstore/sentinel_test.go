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
	"github.com/redis/go-redis/v9"

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
//
// Asserted, as the guarantees say (docs/redis.md):
//   - plain SIGKILL once the replica has caught up loses no acknowledged
//     increment or login. "Caught up" is exact, not a race with the load:
//     the master holds writes (CLIENT PAUSE WRITE) until the replica's
//     offset equals its own, then dies with those writes unacknowledged.
//   - with the link cut, after the replica had caught up, what the master
//     acknowledged since is lost: the test sees losses (else its check of
//     them is blind), and every lost write was acknowledged after the cut.
//   - with WAIT, no acknowledged login is lost, cut link or not.
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
	start, at    time.Time // sent, answered
}

// runFailover is one case of TestSentinelFailover, in its phases.
func runFailover(t *testing.T, tc failoverCase) {
	s, routers := startFailoverTopology(t, tc)
	load := startFailoverLoad(t, routers)
	defer load.halt()

	time.Sleep(time.Second)
	tl := failOverUnderLoad(t, s, tc, load)
	time.Sleep(300 * time.Millisecond)
	load.halt()

	out := checkWhatSurvived(t, routers, load, tl)
	logFailover(t, tc, load, tl, out)
	checkLosses(t, tc, load, tl, out)
}

// startFailoverTopology starts a master, a replica and sentinels (with a
// proxy on the replication link when tc.cutLink) and two service replicas
// on them, each on a FailoverClient of its own.
func startFailoverTopology(t *testing.T, tc failoverCase) (*redistest.Sentinel, []http.Handler) {
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
	return s, routers
}

// failoverLoad is the simulated users' traffic during a failover: users
// log in, then read and increment until stopped, and churners log in
// anew; every outcome is recorded for the checks.
type failoverLoad struct {
	log  loadLog
	stop atomic.Bool
	wg   sync.WaitGroup

	cookies     []string
	acked       []int64        // increments answered 200
	ackedAt     [][]time.Time  // when each was answered
	unknown     []int64        // increments that failed: applied or not
	killedAt    atomic.Int64   // unix ns, 0 before the kill
	servedAgain []atomic.Int64 // first read+incr begun after the kill and ok
	// With the link cut: unix ns when writes resumed on the cut-off
	// master, and the writes begun after it and acknowledged (none of
	// which the replica can have).
	resumedAt                             atomic.Int64
	unreplicatedIncrs, unreplicatedLogins atomic.Int64

	loginsMu sync.Mutex
	logins   []ackedLogin
}

// startFailoverLoad logs the users in and starts the load, which runs
// until halt, at most 5000 rounds each, or for at most 60s.
func startFailoverLoad(t *testing.T, routers []http.Handler) *failoverLoad {
	l := &failoverLoad{
		cookies:     make([]string, failoverUsers),
		acked:       make([]int64, failoverUsers),
		ackedAt:     make([][]time.Time, failoverUsers),
		unknown:     make([]int64, failoverUsers),
		servedAgain: make([]atomic.Int64, failoverUsers),
	}
	for u := range failoverUsers {
		code, _, c := call(routers[u%2], "POST", fmt.Sprintf("/login/u%d", u), "")
		if code != 200 || c == "" {
			t.Fatalf("login of u%d: %d", u, code)
		}
		l.cookies[u] = c
	}
	deadline := time.Now().Add(60 * time.Second)
	for u := range failoverUsers {
		l.wg.Go(func() { l.readAndIncrement(routers, u, deadline) })
	}
	for g := range failoverChurners {
		l.wg.Go(func() { l.churnLogins(routers, g, deadline) })
	}
	return l
}

// halt stops the load and waits for it to end.
func (l *failoverLoad) halt() {
	l.stop.Store(true)
	l.wg.Wait()
}

// ackedByCutOffMaster tells whether a write begun at start and just
// acknowledged went to the master after the link was cut, before its kill.
func (l *failoverLoad) ackedByCutOffMaster(start time.Time) bool {
	r := l.resumedAt.Load()
	return r != 0 && start.UnixNano() > r && l.killedAt.Load() == 0
}

// readAndIncrement is user u's loop, alternating between the routers.
func (l *failoverLoad) readAndIncrement(routers []http.Handler, u int, deadline time.Time) {
	for i := 0; i < 5000 && !l.stop.Load() && time.Now().Before(deadline); i++ {
		r := routers[i%2]
		start := time.Now()
		k := l.killedAt.Load()
		code, _, _ := call(r, "GET", "/me", l.cookies[u])
		l.log.add("read", code, start)
		begun := start
		start = time.Now()
		code2, _, _ := call(r, "POST", "/incr", l.cookies[u])
		l.log.add("incr", code2, start)
		switch code2 {
		case 200:
			l.acked[u]++
			l.ackedAt[u] = append(l.ackedAt[u], time.Now())
			if l.ackedByCutOffMaster(start) {
				l.unreplicatedIncrs.Add(1)
			}
		default:
			l.unknown[u]++
		}
		if code == 200 && code2 == 200 && k != 0 && begun.UnixNano() > k {
			l.servedAgain[u].CompareAndSwap(0, time.Now().UnixNano())
		}
		time.Sleep(failoverTick)
	}
}

// churnLogins is churner g's loop: a login under a new name each round.
func (l *failoverLoad) churnLogins(routers []http.Handler, g int, deadline time.Time) {
	for i := 0; i < 5000 && !l.stop.Load() && time.Now().Before(deadline); i++ {
		name := fmt.Sprintf("c%d-%d", g, i)
		start := time.Now()
		code, _, c := call(routers[i%2], "POST", "/login/"+name, "")
		l.log.add("login", code, start)
		if code == 200 {
			l.loginsMu.Lock()
			l.logins = append(l.logins, ackedLogin{name, c, start, time.Now()})
			l.loginsMu.Unlock()
			if l.ackedByCutOffMaster(start) {
				l.unreplicatedLogins.Add(1)
			}
		}
		time.Sleep(failoverTick)
	}
}

// failoverTimeline is when the failover's steps happened.
type failoverTimeline struct {
	offset    int64     // replication offset the replica caught up at
	lag       int64     // bytes the replica was behind at the kill
	cutAt     time.Time // the link cut, zero without: writes acknowledged after it may be lost
	killAt    time.Time
	switchAt  time.Time // the sentinels named the new master
	allBackAt time.Time // every user served again
}

// failOverUnderLoad lets the replica catch up, cuts the replication link
// if tc says so, kills the master and waits until every user is served
// again.
func failOverUnderLoad(t *testing.T, s *redistest.Sentinel, tc failoverCase, load *failoverLoad) failoverTimeline {
	var tl failoverTimeline
	master, replica := s.Master(), s.Replica()
	// From here the replica holds every write the master acknowledged.
	tl.offset = holdWritesUntilReplicated(t, master, replica, 5*time.Second)
	if tc.cutLink {
		tl.cutAt = cutReplicationUnderLoad(t, s, master, load, tc.wait)
	}
	tl.lag = replicationLag(t, master, replica)
	tl.killAt = time.Now()
	load.killedAt.Store(tl.killAt.UnixNano())
	s.KillMaster()
	newMaster := s.WaitForNewMaster(30 * time.Second)
	tl.switchAt = time.Now()
	tl.allBackAt = waitUntilEveryUserServed(t, load, tl.switchAt, newMaster)
	return tl
}

// cutReplicationUnderLoad partitions the replication link: the master
// goes on acknowledging writes that reach no replica, until it has
// acknowledged some (bounded; about 300ms). It returns when the cut was.
func cutReplicationUnderLoad(t *testing.T, s *redistest.Sentinel, master *redistest.Server, load *failoverLoad, wait bool) time.Time {
	s.CutReplication()
	cutAt := time.Now()
	resumeWrites(t, master)
	load.resumedAt.Store(time.Now().UnixNano())
	deadline := time.Now().Add(10 * time.Second)
	for load.unreplicatedIncrs.Load() < 5 || !wait && load.unreplicatedLogins.Load() < 1 || time.Since(cutAt) < 300*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("10s after the cut the cut-off master had acknowledged %d increments and %d logins begun after it",
				load.unreplicatedIncrs.Load(), load.unreplicatedLogins.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cutAt
}

// waitUntilEveryUserServed waits until each user has been served again
// by itself, and returns when the last one was.
func waitUntilEveryUserServed(t *testing.T, load *failoverLoad, switchAt time.Time, newMaster string) time.Time {
	var allBackAt time.Time
	for u := range failoverUsers {
		for load.servedAgain[u].Load() == 0 {
			if time.Since(switchAt) > 15*time.Second {
				t.Fatalf("user %d not served 15s after the new master %s was named", u, newMaster)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if at := time.Unix(0, load.servedAgain[u].Load()); at.After(allBackAt) {
			allBackAt = at
		}
	}
	return allBackAt
}

// failoverOutcome is what the load lost, and the outage as users saw it.
type failoverOutcome struct {
	lostIncr, unackedApplied, totalAcked int64
	lostLogins                           []ackedLogin
	failed                               map[string]int // failed ops by kind, code and before or after the kill
	firstFail, firstOK                   time.Time      // after the kill
}

// checkWhatSurvived reads back, after the failover, each user's counter
// against its acknowledged increments and each acknowledged login, and
// goes over every operation of the load.
func checkWhatSurvived(t *testing.T, routers []http.Handler, load *failoverLoad, tl failoverTimeline) failoverOutcome {
	var out failoverOutcome
	out.lostIncr, out.unackedApplied, out.totalAcked = checkCounters(t, routers[0], load, tl.cutAt)
	out.lostLogins = lostLogins(t, routers[1], load.logins)
	out.failed, out.firstFail, out.firstOK = checkOutage(t, load.log.events, tl.killAt)
	return out
}

// checkCounters compares each user's counter with its acknowledged
// increments: those lost must have been acknowledged after the cut, and
// the counter holds no more than were sent.
func checkCounters(t *testing.T, r http.Handler, load *failoverLoad, cutAt time.Time) (lostIncr, unackedApplied, totalAcked int64) {
	for u := range failoverUsers {
		code, body := readAfterFailover(r, load.cookies[u])
		name, nStr, _ := strings.Cut(body, " ")
		if code != 200 || name != fmt.Sprintf("u%d", u) {
			t.Errorf("user %d after the failover: %d %q (a silent logout)", u, code, body)
			continue
		}
		n, _ := strconv.ParseInt(nStr, 10, 64)
		acked, unknown := load.acked[u], load.unknown[u]
		totalAcked += acked
		if n < acked {
			lostIncr += acked - n
			// Lost: acknowledged after the cut (none with the replica in
			// step), and no more than were.
			var sinceCut int64
			for _, at := range load.ackedAt[u] {
				if !cutAt.IsZero() && at.After(cutAt) {
					sinceCut++
				}
			}
			if acked-n > sinceCut {
				t.Errorf("user %d: %d acknowledged increments lost, but only %d were acknowledged after the cut (replica caught up before it)",
					u, acked-n, sinceCut)
			}
		}
		if n > acked {
			unackedApplied += n - acked
			if n > acked+unknown {
				t.Errorf("user %d: counter %d, more than the %d+%d increments sent", u, n, acked, unknown)
			}
		}
	}
	return lostIncr, unackedApplied, totalAcked
}

// lostLogins are the acknowledged logins whose session is gone; none may
// still answer 503.
func lostLogins(t *testing.T, r http.Handler, logins []ackedLogin) []ackedLogin {
	var lost []ackedLogin
	for _, l := range logins {
		switch code, body := readAfterFailover(r, l.cookie); {
		case code == http.StatusServiceUnavailable:
			t.Errorf("login %s: still 503 after the failover: %s", l.name, body)
		case code != 200 || !strings.HasPrefix(body, l.name+" "):
			lost = append(lost, l)
		}
	}
	return lost
}

// checkOutage is the outage as the users saw it: failed operations by
// kind, the first failure and the first success after the kill. Only 503
// is allowed.
func checkOutage(t *testing.T, events []event, killAt time.Time) (failed map[string]int, firstFail, firstOK time.Time) {
	failed = map[string]int{}
	for _, e := range events {
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
	return failed, firstFail, firstOK
}

func roundMS(d time.Duration) string { return d.Round(time.Millisecond).String() }

// logFailover logs the figures of one case.
func logFailover(t *testing.T, tc failoverCase, load *failoverLoad, tl failoverTimeline, out failoverOutcome) {
	since := func(at time.Time) string {
		if at.IsZero() {
			return "never"
		}
		return roundMS(at.Sub(tl.killAt))
	}
	t.Logf("%s: %d ops by %d users and %d login loops; replica caught up at offset %d, unreplicated bytes at the kill %d; after the kill: first failure %s, "+
		"sentinels name the new master %s, first success %s, all users served %s",
		tc.name, len(load.log.events), failoverUsers, failoverChurners, tl.offset, tl.lag, since(out.firstFail),
		since(tl.switchAt), since(out.firstOK), since(tl.allBackAt))
	t.Logf("%s: failed ops %v", tc.name, out.failed)
	t.Logf("%s: acknowledged increments lost %d of %d; failed increments applied anyway %d",
		tc.name, out.lostIncr, out.totalAcked, out.unackedApplied)
	lost := out.lostLogins
	lostLine := fmt.Sprintf("%d of %d", len(lost), len(load.logins))
	if len(lost) > 0 {
		lostLine += fmt.Sprintf(", acknowledged %s to %s before the kill", roundMS(tl.killAt.Sub(lost[len(lost)-1].at)), roundMS(tl.killAt.Sub(lost[0].at)))
	}
	t.Logf("%s: acknowledged logins lost %s", tc.name, lostLine)
}

// checkLosses holds the losses to the guarantees: none once the replica
// has caught up, none of the logins with WAIT, and with the link cut only
// writes acknowledged after the cut, which the test must see lost (else
// its check of them is blind).
func checkLosses(t *testing.T, tc failoverCase, load *failoverLoad, tl failoverTimeline, out failoverOutcome) {
	lost := out.lostLogins
	if tc.wait && len(lost) > 0 {
		t.Errorf("with WAIT, %d acknowledged logins were lost", len(lost))
	}
	for _, l := range lost {
		switch {
		case tl.cutAt.IsZero():
			t.Errorf("login %s acknowledged %s before the kill was lost, though the replica had caught up before the kill", l.name, roundMS(tl.killAt.Sub(l.at)))
		case !l.at.After(tl.cutAt):
			t.Errorf("login %s acknowledged %s before the cut was lost, though the replica had caught up before the cut", l.name, roundMS(tl.cutAt.Sub(l.at)))
		}
	}
	switch {
	case !tc.cutLink && out.lostIncr > 0:
		t.Errorf("%d acknowledged increments lost, though the replica had caught up before the kill", out.lostIncr)
	case tc.cutLink && out.lostIncr == 0:
		t.Errorf("the cut-off master acknowledged %d increments begun after the cut, and none was lost: the loss check is blind",
			load.unreplicatedIncrs.Load())
	}
	if begun := load.unreplicatedLogins.Load(); tc.cutLink && !tc.wait && int64(len(lost)) < begun {
		t.Errorf("%d logins begun after the cut were acknowledged by the cut-off master, and only %d were lost: the loss check is blind", begun, len(lost))
	}
}

// readAfterFailover reads /me with cookie. A 503 says nothing of what the
// store holds (a pooled connection to the dead master fails once), so it
// is asked again, for at most about a second.
func readAfterFailover(r http.Handler, cookie string) (int, string) {
	for try := 0; ; try++ {
		code, body, _ := call(r, "GET", "/me", cookie)
		if code != http.StatusServiceUnavailable || try == 20 {
			return code, body
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// holdWritesUntilReplicated makes master hold every write (CLIENT PAUSE
// WRITE, for at most d) and waits until replica has applied the whole
// replication stream (its offset equals the master's, link up). From then
// on, until the pause ends or the master dies, every write the master
// acknowledged is on the replica. It returns the common offset.
func holdWritesUntilReplicated(t *testing.T, master, replica *redistest.Server, d time.Duration) int64 {
	t.Helper()
	ctx := context.Background()
	mc, rc := master.Client(t), replica.Client(t)
	if err := mc.Do(ctx, "CLIENT", "PAUSE", d.Milliseconds(), "WRITE").Err(); err != nil {
		t.Fatalf("CLIENT PAUSE WRITE on the master: %v", err)
	}
	deadline := time.Now().Add(d)
	for {
		m, r := infoFields(t, mc), infoFields(t, rc)
		if r["master_link_status"] == "up" && r["slave_repl_offset"] != "" && r["slave_repl_offset"] == m["master_repl_offset"] {
			n, _ := strconv.ParseInt(m["master_repl_offset"], 10, 64)
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not catch up within %v: offset %s of %s (link %s)", d, r["slave_repl_offset"], m["master_repl_offset"], r["master_link_status"])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// resumeWrites ends holdWritesUntilReplicated's pause.
func resumeWrites(t *testing.T, master *redistest.Server) {
	t.Helper()
	if err := master.Client(t).Do(context.Background(), "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatalf("CLIENT UNPAUSE on the master: %v", err)
	}
}

// infoFields is INFO replication as field: value.
func infoFields(t *testing.T, c *redis.Client) map[string]string {
	t.Helper()
	info, err := c.Info(context.Background(), "replication").Result()
	if err != nil {
		t.Fatalf("INFO replication: %v", err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out
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
	// A login answered 503 (on a loaded machine the store call can time
	// out, or WAIT get no acknowledgement within waitTimeout) is sent
	// again, at most 10 times, and counted; the figures are of the logins
	// that succeeded.
	unavailable := 0
	for i := range 200 {
		for _, r := range []struct {
			h http.Handler
			d *[]time.Duration
		}{{plain, &dPlain}, {waited, &dWait}} {
			for try := 1; ; try++ {
				start := time.Now()
				code, _, _ := call(r.h, "POST", fmt.Sprintf("/login/cost%d", i), "")
				if code == 200 {
					*r.d = append(*r.d, time.Since(start))
					break
				}
				if code != http.StatusServiceUnavailable || try == 10 {
					t.Fatalf("login (try %d): %d", try, code)
				}
				unavailable++
			}
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
	t.Logf("login latency over 200 logins each (in-process, with the race detector if on): without WAIT p50 %v p99 %v; with WAIT 1 p50 %v p99 %v; %d answered 503 and were sent again",
		q(dPlain, .5), q(dPlain, .99), q(dWait, .5), q(dWait, .99), unavailable)
}
