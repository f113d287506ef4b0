package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed bench.lua
var luaScript []byte

// Run is one target under one scenario's load.
type Run struct {
	Target   string  `json:"target"`
	Scenario string  `json:"scenario"`
	Requests int64   `json:"requests"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50Ms    float64 `json:"p50_ms"`
	P90Ms    float64 `json:"p90_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MeanMs   float64 `json:"mean_ms"`
	MaxMs    float64 `json:"max_ms"`
	// Non2xx3xx is wrk's count of responses outside 200-399; Unexpected
	// counts every response whose status is not the scenario's (200 for a
	// logged-in GET /, a redirect for the others), so a logged-in page that
	// silently redirects to /login is an error too.
	Non2xx3xx     int64 `json:"non_2xx_3xx"`
	Unexpected    int64 `json:"unexpected_status"`
	SocketErrors  int64 `json:"socket_errors"`
	Timeouts      int64 `json:"timeouts"`
	Pool          int   `json:"cookie_pool,omitempty"`
	RedisRequests int64 `json:"-"`
	// From INFO between the start and the end of the measured run, per
	// request: round trips (reads the server processed, less connection
	// closes), commands including those run inside Lua scripts, commands
	// that write, and new connections.
	RoundTripsPerReq float64            `json:"redis_round_trips_per_req"`
	CmdsPerReq       float64            `json:"redis_cmds_per_req"`
	WritesPerReq     float64            `json:"redis_writes_per_req"`
	ConnsPerReq      float64            `json:"redis_new_conns_per_req"`
	CmdBreakdown     map[string]float64 `json:"redis_cmds_breakdown"`
	// RedisUsecPerReq is the time Redis spent executing this target's
	// commands per request (INFO commandstats usec). A script's usec
	// includes the commands it runs, which commandstats also counts on
	// their own: those are taken out once, by the share of each command's
	// calls that scripts made (ScriptShare, sampled with MONITOR after the
	// run). UsecBreakdown is every command's own usec per request, as
	// commandstats has it.
	RedisUsecPerReq float64            `json:"redis_usec_per_req"`
	UsecBreakdown   map[string]float64 `json:"redis_usec_breakdown"`
	ScriptShare     map[string]float64 `json:"redis_script_share,omitempty"`
	// CPU: microseconds of the target's and of redis-server's CPU time per
	// request, and CPUs' worth used meanwhile by processes other than wrk,
	// the targets and redis-server (above ~0.1 the run was disturbed).
	ServerCPUus float64 `json:"server_cpu_us_per_req"`
	RedisCPUus  float64 `json:"redis_cpu_us_per_req"`
	WrkCPUus    float64 `json:"wrk_cpu_us_per_req"`
	ForeignCPU  float64 `json:"foreign_cpus"`
}

// Bad is every request that did not get the expected answer.
func (r Run) Bad() int64 { return r.Unexpected + r.SocketErrors + r.Timeouts }

type wrkOut struct {
	Requests      int64   `json:"requests"`
	DurationUS    int64   `json:"duration_us"`
	Bytes         int64   `json:"bytes"`
	ConnectErrors int64   `json:"connect_errors"`
	ReadErrors    int64   `json:"read_errors"`
	WriteErrors   int64   `json:"write_errors"`
	StatusErrors  int64   `json:"status_errors"`
	Timeouts      int64   `json:"timeouts"`
	Unexpected    int64   `json:"unexpected"`
	P50US         int64   `json:"p50_us"`
	P90US         int64   `json:"p90_us"`
	P99US         int64   `json:"p99_us"`
	MeanUS        float64 `json:"mean_us"`
	MaxUS         int64   `json:"max_us"`
	CPUSeconds    float64 `json:"-"` // wrk's own CPU time
}

func expectOf(scenario string) string {
	if scenario == "index" {
		return "200"
	}
	return "3xx"
}

// wrk runs one bounded load against base, with the run's connections and
// threads.
func (s *suite) wrk(ctx context.Context, base, scenario, cookies string, d time.Duration) (wrkOut, error) {
	return s.wrkWith(ctx, base, scenario, cookies, d, s.cfg.Connections, s.cfg.Threads)
}

// wrkWith runs one bounded load against base with conns connections on
// threads threads.
func (s *suite) wrkWith(ctx context.Context, base, scenario, cookies string, d time.Duration, conns, threads int) (wrkOut, error) {
	var out wrkOut
	secs := int(d.Round(time.Second) / time.Second)
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", secs), "--timeout", "5s", "-s", s.script, base+"/",
		"--", scenario, cookies, expectOf(scenario))
	b, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("wrk: %w\n%s", err, b)
	}
	if ps := cmd.ProcessState; ps != nil {
		out.CPUSeconds = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	for _, line := range strings.Split(string(b), "\n") {
		if j, ok := strings.CutPrefix(line, "BENCHJSON "); ok {
			cpu := out.CPUSeconds
			if err := json.Unmarshal([]byte(j), &out); err != nil {
				return out, fmt.Errorf("wrk output %q: %w", j, err)
			}
			out.CPUSeconds = cpu
			return out, nil
		}
	}
	return out, fmt.Errorf("no BENCHJSON line in wrk output:\n%s", b)
}

// pool logs in n sessions on t and writes their cookies to a file. For the
// index scenario each session also gets a theme and a two-item cart, so the
// page shows real data.
func (s *suite) pool(ctx context.Context, t *target, scenario string, n int) (string, error) {
	c := newHTTPClient(8)
	defer c.close()
	cookies := make([]string, n)
	tag := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	_, err := parallel(ctx, n, 8, time.Now().Add(2*time.Minute), func(ctx context.Context, i int) error {
		ck, err := c.login(ctx, t.Base, fmt.Sprintf("%s%s%d", scenario, tag, i))
		if err != nil {
			return err
		}
		if scenario == "index" {
			for _, step := range []struct {
				path string
				form url.Values
			}{
				{"/theme", url.Values{"theme": {"dark"}}},
				{"/cart/add", url.Values{"item": {"apple"}, "qty": {"2"}}},
				{"/cart/add", url.Values{"item": {"pear"}, "qty": {"1"}}},
			} {
				if ck, err = c.post(ctx, t.Base, step.path, ck, step.form); err != nil {
					return err
				}
			}
		}
		cookies[i] = ck
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("preparing %d sessions: %w", n, err)
	}
	// The page must really be the logged-in one.
	code, _, body, err := c.do(ctx, "GET", t.Base+"/", cookies[0], nil)
	if err != nil {
		return "", err
	}
	if code != 200 || (scenario == "index" && !strings.Contains(body, "apple")) {
		return "", fmt.Errorf("a prepared session does not show its page: status %d: %.300s", code, body)
	}
	f := filepath.Join(s.work, fmt.Sprintf("cookies-%s-%s.txt", t.Name, scenario))
	return f, os.WriteFile(f, []byte(strings.Join(cookies, "\n")+"\n"), 0o644)
}

// measure runs warm-up and measured load of one scenario against t.
func (s *suite) measure(ctx context.Context, t *target, scenario string) (Run, error) {
	r := Run{Target: t.Name, Scenario: scenario}
	cookies := "-"
	if scenario == "index" || scenario == "cart" {
		var err error
		if cookies, err = s.pool(ctx, t, scenario, s.cfg.Pool); err != nil {
			return r, err
		}
		r.Pool = s.cfg.Pool
	}
	s.waitQuiet(ctx)
	if _, err := s.wrk(ctx, t.Base, scenario, cookies, s.cfg.Warmup); err != nil {
		return r, fmt.Errorf("warm-up: %w", err)
	}
	before, err := s.snapshot(ctx)
	if err != nil {
		return r, err
	}
	c0 := s.cpuSnap(t)
	w, err := s.wrk(ctx, t.Base, scenario, cookies, s.cfg.Duration)
	if err != nil {
		return r, err
	}
	c1 := s.cpuSnap(t)
	after, err := s.snapshot(ctx)
	if err != nil {
		return r, err
	}
	fill(&r, w)
	fillCPU(&r, c0, c1, w)
	if usesScripts(before, after) {
		if r.ScriptShare, err = s.scriptShares(ctx, t, scenario, cookies); err != nil {
			return r, fmt.Errorf("sampling script commands: %w", err)
		}
	}
	s.redisPerRequest(&r, before, after, r.ScriptShare)
	return r, nil
}

func fillCPU(r *Run, a, b cpuSnap, w wrkOut) {
	r.ForeignCPU = round3(foreignCPU(a, b, w.CPUSeconds))
	if r.Requests > 0 {
		n := float64(r.Requests)
		r.ServerCPUus = round3((b.target - a.target) / clockTick / n * 1e6)
		r.RedisCPUus = round3((b.redis - a.redis) / clockTick / n * 1e6)
		r.WrkCPUus = round3(w.CPUSeconds / n * 1e6)
	}
}

func fill(r *Run, w wrkOut) {
	r.Requests = w.Requests
	r.Seconds = float64(w.DurationUS) / 1e6
	if r.Seconds > 0 {
		r.RPS = float64(w.Requests) / r.Seconds
	}
	r.P50Ms, r.P90Ms, r.P99Ms = float64(w.P50US)/1e3, float64(w.P90US)/1e3, float64(w.P99US)/1e3
	r.MeanMs, r.MaxMs = w.MeanUS/1e3, float64(w.MaxUS)/1e3
	r.Non2xx3xx, r.Unexpected = w.StatusErrors, w.Unexpected
	r.SocketErrors = w.ConnectErrors + w.ReadErrors + w.WriteErrors
	r.Timeouts = w.Timeouts
}

// Memory is a target's Redis memory per logged-in session, in one of two
// cases: every login a new name (the realistic case), or every login the
// same name.
type Memory struct {
	Target string `json:"target"`
	// Names is "each" (a name per login) or "one" (one name for all).
	Names  string `json:"names"`
	Logins int    `json:"logins"`
	// UsedMemoryDelta is the growth of used_memory less that of
	// mem_clients_normal (ClientMemDelta, the connections' buffers).
	UsedMemoryDelta int64   `json:"used_memory_delta"`
	ClientMemDelta  int64   `json:"mem_clients_normal_delta"`
	KeysDelta       int64   `json:"keys_delta"`
	BytesPerSession float64 `json:"bytes_per_session"` // per login
	KeysPerSession  float64 `json:"keys_per_session"`  // per login
	// Live is how many of the logins' cookies still show the signed-in
	// page afterwards: all of them, unless the target bounds the sessions
	// of one name (ours and engine keep at most SESSION_MAX_PER_NAME,
	// default 50, and end the least recently used). BytesPerLive is the
	// delta divided by them.
	Live         int     `json:"live_sessions"`
	BytesPerLive float64 `json:"bytes_per_live_session"`
	// KeyKinds is MEMORY USAGE of a sample of the keys, by kind of key
	// (Redis' own estimate of one key: name, value and its dict entry,
	// without the expiry entry and hash-table buckets).
	KeyKinds []KeyKind `json:"key_kinds,omitempty"`
}

// KeyKind is the average MEMORY USAGE of sampled keys of one kind.
type KeyKind struct {
	Kind     string  `json:"kind"`
	Type     string  `json:"type"`
	Encoding string  `json:"encoding"`
	Sampled  int     `json:"sampled"`
	Bytes    float64 `json:"avg_bytes"`
	Example  string  `json:"example_key"`
}

// measureMemory measures both cases on t, whose database is empty: first
// a name per login, then one name for all (its own name, so the first
// case's sessions do not count).
func (s *suite) measureMemory(ctx context.Context, t *target) ([]Memory, error) {
	c := newHTTPClient(4)
	defer c.close()
	// A few hundred logins first let the target's connection pool settle.
	warm := func(ctx context.Context, i int) error {
		_, err := c.login(ctx, t.Base, fmt.Sprintf("warm%06d", i))
		return err
	}
	if _, err := parallel(ctx, 300, 4, time.Now().Add(time.Minute), warm); err != nil {
		return nil, err
	}
	each, err := s.memoryCase(ctx, t, c, "each", func(i int) string { return fmt.Sprintf("mem%06d", i) })
	if err != nil {
		return nil, err
	}
	if each.KeyKinds, err = s.keyKinds(ctx, t, 200); err != nil {
		return nil, err
	}
	// The first logins beyond a name's limit of live sessions (ours and
	// engine) run a code path of their own whose Lua script Redis loads and
	// compiles then: about 90 KB once, whichever target comes first, which
	// divided by 50 live sessions would count as 1,800 bytes each. Another
	// name takes that path first.
	for i := range 100 {
		if _, err := c.login(ctx, t.Base, "warmone"); err != nil {
			return nil, fmt.Errorf("warm-up login %d: %w", i, err)
		}
	}
	one, err := s.memoryCase(ctx, t, c, "one", func(int) string { return "memone" })
	if err != nil {
		return nil, err
	}
	return []Memory{each, one}, nil
}

// memoryCase logs in MemSessions browsers (no cookie) with the names name
// gives and divides the growth of used_memory by the logins and by the
// sessions still live.
func (s *suite) memoryCase(ctx context.Context, t *target, c *httpClient, names string, name func(int) string) (Memory, error) {
	m := Memory{Target: t.Name, Names: names}
	cookies := make([]string, s.cfg.MemSessions)
	before, err := s.settledSnapshot(ctx)
	if err != nil {
		return m, err
	}
	// One name for all is logged in from one worker, so "least recently
	// used" is the login order.
	workers := 4
	if names == "one" {
		workers = 1
	}
	n, err := parallel(ctx, s.cfg.MemSessions, workers, time.Now().Add(5*time.Minute), func(ctx context.Context, i int) error {
		ck, err := c.login(ctx, t.Base, name(i))
		cookies[i] = ck
		return err
	})
	if err != nil {
		return m, err
	}
	after, err := s.settledSnapshot(ctx)
	if err != nil {
		return m, err
	}
	m.Logins = n
	m.UsedMemoryDelta = after.dataMemory() - before.dataMemory()
	m.ClientMemDelta = after.clientMem - before.clientMem
	m.KeysDelta = after.keys[t.DB] - before.keys[t.DB]
	m.BytesPerSession = round3(float64(m.UsedMemoryDelta) / float64(n))
	m.KeysPerSession = round3(float64(m.KeysDelta) / float64(n))
	if m.Live, err = s.live(ctx, t, c, cookies); err != nil {
		return m, err
	}
	if m.Live > 0 {
		m.BytesPerLive = round3(float64(m.UsedMemoryDelta) / float64(m.Live))
	}
	return m, nil
}

// live counts the cookies whose GET / is still the signed-in page (200;
// a redirect to /login is a session that ended).
func (s *suite) live(ctx context.Context, t *target, c *httpClient, cookies []string) (int, error) {
	var mu sync.Mutex
	n := 0
	_, err := parallel(ctx, len(cookies), 4, time.Now().Add(5*time.Minute), func(ctx context.Context, i int) error {
		code, _, body, err := c.do(ctx, "GET", t.Base+"/", cookies[i], nil)
		switch {
		case err != nil:
			return err
		case code == 200:
			mu.Lock()
			n++
			mu.Unlock()
		case code/100 != 3:
			return fmt.Errorf("GET / with a login's cookie: status %d: %.200s", code, body)
		}
		return nil
	})
	return n, err
}

// keyKinds samples up to n keys of t's database with SCAN and averages
// MEMORY USAGE per kind (the key name with its random parts removed).
func (s *suite) keyKinds(ctx context.Context, t *target, n int) ([]KeyKind, error) {
	rc := redis.NewClient(&redis.Options{Addr: s.redisAddr, DB: t.DB, PoolSize: 1})
	defer rc.Close()
	kinds := map[string]*KeyKind{}
	var order []string
	var cursor uint64
	seen := 0
	for seen < n {
		keys, next, err := rc.Scan(ctx, cursor, t.Prefix+"*", 100).Result()
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if seen >= n {
				break
			}
			seen++
			kind := keyKind(t.Prefix, k)
			kk := kinds[kind]
			if kk == nil {
				typ, _ := rc.Type(ctx, k).Result()
				enc, _ := rc.ObjectEncoding(ctx, k).Result()
				kk = &KeyKind{Kind: kind, Type: typ, Encoding: enc, Example: k}
				kinds[kind] = kk
				order = append(order, kind)
			}
			b, err := rc.MemoryUsage(ctx, k, 0).Result()
			if err != nil {
				continue // expired or gone meanwhile
			}
			kk.Bytes = (kk.Bytes*float64(kk.Sampled) + float64(b)) / float64(kk.Sampled+1)
			kk.Sampled++
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	out := make([]KeyKind, 0, len(order))
	for _, k := range order {
		kinds[k].Bytes = round3(kinds[k].Bytes)
		out = append(out, *kinds[k])
	}
	return out, nil
}

// keyKind is k with its hash tag and every run of 8 or more letters and
// digits (ids, generated names) replaced by "*".
func keyKind(prefix, k string) string {
	k = strings.TrimPrefix(k, prefix)
	k = hashTag.ReplaceAllString(k, "{*}")
	return prefix + idRun.ReplaceAllString(k, "*")
}

var hashTag = regexp.MustCompile(`\{[^}]*\}`)

var idRun = regexp.MustCompile(`[A-Za-z0-9_\-]{8,}`)
