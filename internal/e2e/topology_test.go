package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/devstack"
	"github.com/sessiond/sessiond/internal/procs"
	"github.com/sessiond/sessiond/internal/redistest"
)

// Options change the topology from its defaults.
type Options struct {
	// RedisTimeout is each replica's REDIS_TIMEOUT (default 1s).
	RedisTimeout time.Duration
	// ShutdownDelay is each replica's SHUTDOWN_DELAY (default 1s).
	ShutdownDelay time.Duration
	// LoginRateLimit is each replica's LOGIN_RATE_LIMIT (default 0: off,
	// as the simulated users all log in from 127.0.0.1).
	LoginRateLimit int
	// RedisURL is each replica's REDIS_URL, for a Redis the test started
	// itself (e.g. a redistest.Cluster). Unset: the topology starts its own
	// redis-server (Topology.Redis); set: Topology.Redis is nil.
	RedisURL string
}

// Topology is one redis-server (or the Redis of Options.RedisURL), three
// replicas and nginx in front of them, on loopback, owned by one test. The processes are internal/devstack's
// (which `make dev` runs too); this is their testing face.
type Topology struct {
	// LB is the base URL of the load balancer, as users reach the service.
	LB       string
	Redis    *redistest.Server // nil with Options.RedisURL
	Replicas []*Replica

	stack *devstack.Stack
}

// StartTopology starts Redis (append-only, in a temp dir), three replicas
// of the built server (REPLICA_ID r1..r3, one SESSION_SECRET) and nginx
// (round-robin, no affinity, from lbconfig's loopback rendering), and waits
// until a request through nginx is served. Everything is ended, by PID,
// when the test ends; on failure the logs are kept (see keepLogsOnFailure).
// Under -short it skips the test: it needs nginx, and `make test` runs it.
func StartTopology(t *testing.T, opt Options) *Topology {
	t.Helper()
	if testing.Short() {
		t.Skip("needs nginx, three built replicas (and Chromium for the browser test): run make test")
	}
	if opt.RedisTimeout == 0 {
		opt.RedisTimeout = time.Second
	}
	if opt.ShutdownDelay == 0 {
		opt.ShutdownDelay = time.Second
	}
	logDir := t.TempDir()
	keepLogsOnFailure(t, logDir)
	top := &Topology{}
	if opt.RedisURL == "" {
		top.Redis = redistest.Start(t)
		opt.RedisURL = top.Redis.URL()
		t.Cleanup(func() { // before redistest removes its folder
			if t.Failed() {
				copyFile(filepath.Join(top.Redis.Dir, "redis.log"), filepath.Join(logDir, "redis.log"))
			}
		})
	}
	stack, err := devstack.Start(devstack.Config{
		Server:   serverBinary,
		Dir:      logDir,
		RedisURL: opt.RedisURL,
		Env: []string{
			"REDIS_KEY_PREFIX=e2e:",
			"REDIS_TIMEOUT=" + opt.RedisTimeout.String(),
			"SHUTDOWN_DELAY=" + opt.ShutdownDelay.String(),
			"SHUTDOWN_TIMEOUT=10s",
			"TRUSTED_PROXIES=127.0.0.1/32",
			"LOGIN_RATE_LIMIT=" + strconv.Itoa(opt.LoginRateLimit),
			"LOG_FORMAT=json",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stack.Stop) // nginx, then the replicas at once, then Redis
	top.stack, top.LB = stack, stack.LB
	for _, r := range stack.Replicas {
		top.Replicas = append(top.Replicas, &Replica{ID: r.ID, Addr: r.Addr, r: r})
	}
	return top
}

// Replica is one server process on a fixed loopback address; it can be
// killed, drained and started again on the same address.
type Replica struct {
	ID   string
	Addr string

	r *devstack.Replica
}

// URL is the replica's own base URL, bypassing the balancer.
func (r *Replica) URL() string { return r.r.URL() }

// LogPath is the file the replica's output is appended to.
func (r *Replica) LogPath() string { return r.r.LogPath() }

func (r *Replica) current() *procs.Process { return r.r.Process() }

// Running reports whether the replica's process is alive.
func (r *Replica) Running() bool { return r.r.Running() }

// PID of the running process.
func (r *Replica) PID() int { return r.current().PID() }

// Start (re)starts the replica on its address and waits until /healthz
// answers 200. The process appends to <logdir>/<id>.log.
func (r *Replica) Start(t *testing.T) {
	t.Helper()
	if err := r.r.Start(); err != nil {
		t.Fatal(err)
	}
}

// Kill sends SIGKILL (a crash: no drain) and waits until it is reaped.
func (r *Replica) Kill(t *testing.T) {
	t.Helper()
	p := r.current()
	p.Signal(syscall.SIGKILL)
	if !p.Wait(5 * time.Second) {
		t.Fatalf("replica %s (pid %d) still runs 5s after SIGKILL", r.ID, p.PID())
	}
}

// Term sends SIGTERM, waits for the drain to end, and fails the test unless
// the process exits 0 within 20s. It returns how long the drain took.
func (r *Replica) Term(t *testing.T) time.Duration {
	t.Helper()
	p := r.current()
	start := time.Now()
	p.Signal(syscall.SIGTERM)
	if !p.Wait(20 * time.Second) {
		t.Fatalf("replica %s (pid %d) still runs 20s after SIGTERM", r.ID, p.PID())
	}
	took := time.Since(start)
	if s := p.ExitStatus(); s != "exit status 0" {
		t.Errorf("replica %s ended with %s after SIGTERM, want exit status 0", r.ID, s)
	}
	return took
}

// waitHTTP polls u until it answers want, for at most d; it gives up early
// when p exits.
func waitHTTP(u string, want int, d time.Duration, p *procs.Process) error {
	var gone func() error
	if p != nil {
		gone = p.Gone
	}
	return procs.WaitHTTP(u, want, d, gone)
}

// probe is one direct request to a replica's health endpoint.
func probe(u string) (status int, retryAfter string, err error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

func copyFile(src, dst string) {
	b, err := os.ReadFile(src)
	if err == nil {
		_ = os.WriteFile(dst, b, 0o644)
	}
}
