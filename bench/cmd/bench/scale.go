package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/redisstore"
)

// ScalePoint is logged-in GET / of ours with some number of sessions stored.
type ScalePoint struct {
	Sessions   int       `json:"sessions"`
	Keys       int64     `json:"redis_keys"`
	UsedMemory int64     `json:"used_memory"`
	RPS        float64   `json:"rps"`                  // median of the runs
	P99Ms      float64   `json:"p99_ms"`               // median of the runs
	RedisCPUus float64   `json:"redis_cpu_us_per_req"` // median of the runs
	CmdsPerReq float64   `json:"redis_cmds_per_req"`   // median of the runs
	RunsRPS    []float64 `json:"runs_rps"`
	Bad        int64     `json:"bad"`          // errors and sign-outs of every run
	ForeignCPU float64   `json:"foreign_cpus"` // the most of any run
}

// Scale compares throughput with few and with many sessions stored.
type Scale struct {
	Small          ScalePoint `json:"small"`
	Large          ScalePoint `json:"large"`
	Preloaded      int        `json:"preloaded"`
	PreloadSeconds float64    `json:"preload_seconds"`
	Note           string     `json:"note"`
}

// measureScale empties ours' database, logs in ScaleBase sessions over HTTP
// (the ones the load uses), measures, then stores more sessions through the
// engine itself (same key prefix and database, one login each: index entry
// and session hash, as the service writes them) up to ScaleTotal, and
// measures again with the same cookies.
func (s *suite) measureScale(ctx context.Context, t *target) (*Scale, error) {
	sc := &Scale{}
	rc := redis.NewClient(&redis.Options{Addr: s.redisAddr, DB: t.DB, PoolSize: 64})
	defer rc.Close()
	if err := rc.FlushDB(ctx).Err(); err != nil {
		return sc, err
	}
	s.logf("scale: %d sessions over HTTP", s.cfg.ScaleBase)
	cookies, _, err := s.pool(ctx, t, "index", s.cfg.ScaleBase)
	if err != nil {
		return sc, err
	}
	if sc.Small, err = s.scalePoint(ctx, t, rc, cookies, s.cfg.ScaleBase); err != nil {
		return sc, err
	}
	s.logf("scale: %d stored: %.0f req/s (runs %s), p99 %.2f ms", sc.Small.Sessions, sc.Small.RPS, joinFloats(sc.Small.RunsRPS), sc.Small.P99Ms)

	want := s.cfg.ScaleTotal - s.cfg.ScaleBase
	start := time.Now()
	n, perr := s.preload(ctx, rc, t.Prefix, want)
	sc.Preloaded, sc.PreloadSeconds = n, time.Since(start).Seconds()
	s.logf("scale: preloaded %d sessions through the engine in %.0fs", n, sc.PreloadSeconds)
	if sc.Large, err = s.scalePoint(ctx, t, rc, cookies, s.cfg.ScaleBase+n); err != nil {
		return sc, err
	}
	s.logf("scale: %d stored: %.0f req/s (runs %s), p99 %.2f ms", sc.Large.Sessions, sc.Large.RPS, joinFloats(sc.Large.RunsRPS), sc.Large.P99Ms)
	sc.Note = fmt.Sprintf("The load uses the same %d logged-in sessions (theme and a two-item cart) both times; "+
		"the other %d sessions (a name each, one login per user: a session hash and an index key) were stored "+
		"through internal/session directly in %.0fs with %d goroutines.", s.cfg.ScaleBase, n, sc.PreloadSeconds, preloadWorkers)
	if perr != nil {
		sc.Note += fmt.Sprintf(" Preload stopped early: %v.", perr)
	}
	return sc, nil
}

func (s *suite) scalePoint(ctx context.Context, t *target, rc *redis.Client, cookies string, sessions int) (ScalePoint, error) {
	p := ScalePoint{Sessions: sessions}
	if _, err := s.wrk(ctx, t.Base, "index", cookies, s.cfg.Warmup); err != nil {
		return p, err
	}
	var p99s, cpus, cmds []float64
	for range s.cfg.ScaleReps {
		s.waitQuiet(ctx)
		before, err := s.snapshot(ctx)
		if err != nil {
			return p, err
		}
		c0 := s.cpuSnap(t)
		w, err := s.wrk(ctx, t.Base, "index", cookies, s.cfg.Duration)
		if err != nil {
			return p, err
		}
		var r Run
		fill(&r, w)
		fillCPU(&r, c0, s.cpuSnap(t), w)
		after, err := s.snapshot(ctx)
		if err != nil {
			return p, err
		}
		s.redisPerRequest(&r, before, after)
		p.ForeignCPU = max(p.ForeignCPU, r.ForeignCPU)
		p.RunsRPS = append(p.RunsRPS, r.RPS)
		p99s, cpus, cmds = append(p99s, r.P99Ms), append(cpus, r.RedisCPUus), append(cmds, r.CmdsPerReq)
		p.Bad += r.Errors() + r.SignedOut()
	}
	p.RPS, p.P99Ms = median(p.RunsRPS), median(p99s)
	p.RedisCPUus, p.CmdsPerReq = median(cpus), median(cmds)
	var err error
	if p.Keys, err = rc.DBSize(ctx).Result(); err != nil {
		return p, err
	}
	snap, err := s.snapshot(ctx)
	p.UsedMemory = snap.usedMemory
	return p, err
}

const preloadWorkers = 32

// preload stores n sessions through the engine, bounded by ScaleTimeout.
func (s *suite) preload(ctx context.Context, rc *redis.Client, prefix string, n int) (int, error) {
	m, err := session.NewManager(session.Config{
		Backend:   redisstore.New(rc),
		Keys:      [][]byte{[]byte(s.secret)},
		KeyPrefix: prefix,
		Timeout:   5 * time.Second,
	})
	if err != nil {
		return 0, err
	}
	var progress atomic.Int64
	step := int64(max(n/10, 1))
	var failures atomic.Int64
	done, err := parallel(ctx, n, preloadWorkers, time.Now().Add(s.cfg.ScaleTimeout), func(ctx context.Context, i int) error {
		// A busy machine can time out a call now and then: retry a few
		// times, and give up only on a persistent failure.
		var err error
		for range 5 {
			if err = preloadOne(ctx, m, i); err == nil {
				break
			}
			failures.Add(1)
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			return err
		}
		if k := progress.Add(1); k%step == 0 {
			s.logf("scale: preloaded %d/%d", k, n)
		}
		return nil
	})
	if f := failures.Load(); f > 0 {
		s.logf("scale: %d preload calls failed and were retried", f)
	}
	return done, err
}

func preloadOne(ctx context.Context, m *session.Manager, i int) error {
	req := httptest.NewRequestWithContext(ctx, "POST", "/login", nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) bench-preload")
	sess, err := m.Load(req)
	if err != nil {
		return err
	}
	sess.Login(fmt.Sprintf("pre%07d", i))
	return sess.Save()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
