package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// target is one server under test.
type target struct {
	Name   string
	Base   string // http://127.0.0.1:PORT
	DB     int    // its Redis database (-1: none)
	Prefix string // its key prefix
	Pprof  string // base URL of its pprof endpoints, "" if none
	proc   *proc
}

// Each target gets its own Redis database so key counts and memory deltas
// are its own. gin-contrib gets database 0: its redigo pool opens new
// connections under load, and on any other database each one costs a SELECT.
var targetDB = map[string]int{"gincontrib": 0, "engine": 1, "scs": 2, "ours": 3, "nosession": -1}
var targetPrefix = map[string]string{"ours": "ours:", "engine": "eng:", "scs": "scs:session:", "gincontrib": "session_"}

// suite owns the processes of one run.
type suite struct {
	cfg       *Config
	out       io.Writer
	work      string
	ownWork   bool
	redis     *proc
	redisAddr string
	rc        *redis.Client
	secret    string
	serverBin string
	peersBin  string
	script    string
	targets   []*target
	writeCmds map[string]bool
}

func newSuite(cfg *Config, out io.Writer) (*suite, error) {
	s := &suite{cfg: cfg, out: out, work: cfg.work}
	if s.work == "" {
		d, err := os.MkdirTemp("", "sessiond-bench-")
		if err != nil {
			return nil, err
		}
		s.work, s.ownWork = d, true
	} else if err := os.MkdirAll(s.work, 0o755); err != nil {
		return nil, err
	}
	var key [32]byte
	_, _ = rand.Read(key[:])
	s.secret = hex.EncodeToString(key[:]) // 64 bytes
	s.script = filepath.Join(s.work, "bench.lua")
	if err := os.WriteFile(s.script, luaScript, 0o644); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *suite) logf(format string, args ...any) {
	fmt.Fprintf(s.out, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (s *suite) close() {
	for _, t := range s.targets {
		t.proc.stop()
	}
	if s.rc != nil {
		s.rc.Close()
	}
	s.redis.stop()
	if s.ownWork && !s.cfg.keep {
		os.RemoveAll(s.work)
	} else {
		fmt.Fprintf(s.out, "work folder kept: %s\n", s.work)
	}
}

func (s *suite) needs(name string) bool { return slices.Contains(s.cfg.Targets, name) }

func (s *suite) build(ctx context.Context) error {
	if s.needs("ours") {
		s.serverBin = filepath.Join(s.work, "server")
		if s.cfg.profile {
			if err := s.buildPprofVariant(ctx); err != nil {
				return err
			}
		} else {
			s.logf("building the service (go build ./cmd/server in %s)", s.cfg.root)
			if err := goBuild(ctx, s.cfg.root, s.serverBin, "./cmd/server"); err != nil {
				return err
			}
		}
	}
	s.peersBin = filepath.Join(s.work, "peers")
	s.logf("building the peers (go build ./peers)")
	return goBuild(ctx, s.cfg.benchMd, s.peersBin, "./peers")
}

func baseEnv() []string {
	env := []string{"GOTOOLCHAIN=local"}
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// startTarget starts one target on a free loopback port, using db.
func (s *suite) startTarget(name, bin string, db int, withPprof bool) (*target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	t := &target{Name: name, Base: fmt.Sprintf("http://127.0.0.1:%d", port), DB: db, Prefix: targetPrefix[name]}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var pprofAddr string
	if withPprof {
		pp, err := freePort()
		if err != nil {
			return nil, err
		}
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", pp)
		t.Pprof = "http://" + pprofAddr
	}
	env := baseEnv()
	var args []string
	if name == "ours" {
		env = append(env,
			"ADDR="+addr,
			fmt.Sprintf("REDIS_URL=redis://%s/%d", s.redisAddr, db),
			"SESSION_STORE=redis",
			"SESSION_SECRET="+s.secret,
			"REDIS_KEY_PREFIX="+t.Prefix,
			"LOG_LEVEL=info", // the default: one log line per request, as in production
			"REPLICA_ID=bench",
			"LOGIN_RATE_LIMIT=0",
			"COOKIE_SECURE=false",
		)
		if pprofAddr != "" {
			env = append(env, "BENCH_PPROF_ADDR="+pprofAddr)
		}
		env = append(env, s.cfg.OursEnv...)
	} else {
		args = []string{"-peer", name, "-addr", addr, "-redis", s.redisAddr,
			"-db", strconv.Itoa(max(db, 0)), "-secret", s.secret, "-replica", "bench",
			"-gincontrib-idle", strconv.Itoa(s.cfg.GinIdle)}
		if t.Prefix != "" {
			args = append(args, "-prefix", t.Prefix)
		}
		if pprofAddr != "" {
			args = append(args, "-pprof", pprofAddr)
		}
	}
	p, err := startServer(name, bin, args, env, filepath.Join(s.work, name+"-"+strconv.Itoa(port)+".log"), t.Base)
	if err != nil {
		return nil, err
	}
	t.proc = p
	return t, nil
}

// start builds the binaries and starts redis-server and every target, each
// with a pprof listener when profiling.
func (s *suite) start(ctx context.Context) (redisVersion string, err error) {
	if err := s.build(ctx); err != nil {
		return "", err
	}
	if s.redis, s.redisAddr, err = startRedis(filepath.Join(s.work, "redis")); err != nil {
		return "", err
	}
	s.rc = redis.NewClient(&redis.Options{Addr: s.redisAddr, PoolSize: 4})
	if s.writeCmds, err = writeCommands(ctx, s.rc); err != nil {
		return "", err
	}
	if v, err := s.rc.Info(ctx, "server").Result(); err == nil {
		redisVersion = infoField(v, "redis_version")
	}
	s.logf("redis-server %s on %s (work folder %s)", redisVersion, s.redisAddr, s.work)
	for _, name := range s.cfg.Targets {
		bin := s.peersBin
		if name == "ours" {
			bin = s.serverBin
		}
		t, err := s.startTarget(name, bin, targetDB[name], s.cfg.profile)
		if err != nil {
			return redisVersion, err
		}
		s.targets = append(s.targets, t)
		s.logf("%s on %s (redis db %d)", name, t.Base, t.DB)
	}
	return redisVersion, nil
}

// run is one pass of the suite: memory per session, every scenario against
// every target, and (with -scale) ours with 1k and 1M sessions stored.
func (s *suite) run(ctx context.Context) (*Results, error) {
	res := &Results{Started: time.Now().UTC(), Machine: machine(), Config: *s.cfg}
	var err error
	if res.Machine.Redis, err = s.start(ctx); err != nil {
		return nil, err
	}

	// Memory first: every target's database is still empty.
	for _, t := range s.targets {
		if t.DB < 0 {
			continue
		}
		ms, err := s.measureMemory(ctx, t)
		if err != nil {
			return res, fmt.Errorf("memory of %s: %w", t.Name, err)
		}
		res.Memory = append(res.Memory, ms...)
		for _, m := range ms {
			s.logf("memory %-10s names=%-4s %7.1f bytes/login, %.2f keys/login (%d logins), %d live: %.1f bytes/live session",
				t.Name, m.Names, m.BytesPerSession, m.KeysPerSession, m.Logins, m.Live, m.BytesPerLive)
		}
	}

	for _, sc := range s.cfg.Scenarios {
		for _, t := range s.targets {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			r, err := s.measure(ctx, t, sc)
			if err != nil {
				return res, fmt.Errorf("%s %s: %w", t.Name, sc, err)
			}
			res.Runs = append(res.Runs, r)
			s.logf("%-8s %-10s %6.0f req/s p50 %5.2f p99 %6.2f ms  redis cpu %5.1f µs/req cmds %.2f rt %.2f writes %.2f  srv cpu %.0f µs/req  other CPUs %.2f  errors %d signed out %d",
				sc, t.Name, r.RPS, r.P50Ms, r.P99Ms, r.RedisCPUus, r.CmdsPerReq, r.RoundTripsPerReq, r.WritesPerReq,
				r.ServerCPUus, r.ForeignCPU, r.Errors(), r.SignedOut())
		}
	}

	if s.cfg.Scale && s.needs("ours") {
		sc, err := s.measureScale(ctx, s.target("ours"))
		res.Scale = sc
		if err != nil {
			return res, fmt.Errorf("scale: %w", err)
		}
	}
	res.Finished = time.Now().UTC()
	return res, nil
}

func (s *suite) target(name string) *target {
	for _, t := range s.targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}
