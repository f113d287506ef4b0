package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/lbconfig"
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
// replicas and nginx in front of them, on loopback, owned by one test.
type Topology struct {
	// LB is the base URL of the load balancer, as users reach the service.
	LB       string
	Redis    *redistest.Server // nil with Options.RedisURL
	Replicas []*Replica

	logDir string
	env    []string // shared by every replica
	nginx  *process
}

// StartTopology starts Redis (append-only, in a temp dir), three replicas
// of the built server (REPLICA_ID r1..r3, one SESSION_SECRET) and nginx
// (round-robin, no affinity, from lbconfig's loopback rendering), and waits
// until a request through nginx is served. Everything is ended, by PID,
// when the test ends; on failure the logs are kept (see keepLogsOnFailure).
func StartTopology(t *testing.T, opt Options) *Topology {
	t.Helper()
	if opt.RedisTimeout == 0 {
		opt.RedisTimeout = time.Second
	}
	if opt.ShutdownDelay == 0 {
		opt.ShutdownDelay = time.Second
	}
	nginxBin, err := lbconfig.NginxBinary()
	if err != nil {
		t.Fatal(err)
	}
	top := &Topology{logDir: t.TempDir()}
	keepLogsOnFailure(t, top.logDir)

	if opt.RedisURL == "" {
		top.Redis = redistest.Start(t)
		opt.RedisURL = top.Redis.URL()
		t.Cleanup(func() { // before redistest removes its folder
			if t.Failed() {
				copyFile(filepath.Join(top.Redis.Dir, "redis.log"), filepath.Join(top.logDir, "redis.log"))
			}
		})
	}

	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	top.env = []string{
		"REDIS_URL=" + opt.RedisURL,
		"SESSION_SECRET=" + hex.EncodeToString(secret),
		"REDIS_KEY_PREFIX=e2e:",
		"REDIS_TIMEOUT=" + opt.RedisTimeout.String(),
		"SHUTDOWN_DELAY=" + opt.ShutdownDelay.String(),
		"SHUTDOWN_TIMEOUT=10s",
		"TRUSTED_PROXIES=127.0.0.1/32",
		"LOGIN_RATE_LIMIT=" + strconv.Itoa(opt.LoginRateLimit),
		"LOG_FORMAT=json",
	}
	var servers []string
	for i := range 3 {
		r := &Replica{
			ID:   fmt.Sprintf("r%d", i+1),
			Addr: fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t)),
			top:  top,
		}
		top.Replicas = append(top.Replicas, r)
		servers = append(servers, r.Addr)
	}
	t.Cleanup(func() { // all at once: each drains for SHUTDOWN_DELAY
		var wg sync.WaitGroup
		for _, r := range top.Replicas {
			wg.Go(r.stop)
		}
		wg.Wait()
	})
	var wg sync.WaitGroup
	errs := make([]error, len(top.Replicas))
	for i, r := range top.Replicas {
		wg.Go(func() { errs[i] = r.start() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	top.startNginx(t, nginxBin, servers)
	return top
}

func (top *Topology) startNginx(t *testing.T, bin string, servers []string) {
	t.Helper()
	dir := filepath.Join(top.logDir, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t))
	var conf bytes.Buffer
	if err := lbconfig.Render(&conf, lbconfig.Loopback(dir, listen, servers)); err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := openLog(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	p, err := startProcess("nginx", log, nil, bin, "-p", dir, "-c", confPath, "-e", "stderr", "-g", "daemon off;")
	if err != nil {
		t.Fatal(err)
	}
	top.nginx = p
	t.Cleanup(func() { p.stop(syscall.SIGTERM, 5*time.Second) })
	top.LB = "http://" + listen
	if err := waitHTTP(top.LB+"/healthz", 200, 10*time.Second, p); err != nil {
		t.Fatalf("nginx on %s: %v", listen, err)
	}
}

// Replica is one server process on a fixed loopback address; it can be
// killed, drained and started again on the same address.
type Replica struct {
	ID   string
	Addr string
	top  *Topology

	mu   sync.Mutex
	proc *process
}

// URL is the replica's own base URL, bypassing the balancer.
func (r *Replica) URL() string { return "http://" + r.Addr }

func (r *Replica) current() *process {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proc
}

// Running reports whether the replica's process is alive.
func (r *Replica) Running() bool {
	p := r.current()
	return p != nil && !p.exited()
}

// PID of the running process.
func (r *Replica) PID() int { return r.current().pid() }

// Start (re)starts the replica on its address and waits until /healthz
// answers 200. The process appends to <logdir>/<id>.log.
func (r *Replica) Start(t *testing.T) {
	t.Helper()
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
}

func (r *Replica) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil && !r.proc.exited() {
		return fmt.Errorf("replica %s: already running (pid %d)", r.ID, r.proc.pid())
	}
	log, err := openLog(filepath.Join(r.top.logDir, r.ID+".log"))
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(log, "=== e2e: start %s at %s\n", r.ID, time.Now().Format(time.RFC3339Nano))
	env := append([]string{"ADDR=" + r.Addr, "REPLICA_ID=" + r.ID}, r.top.env...)
	p, err := startProcess(r.ID, log, env, serverBinary)
	if err != nil {
		return err
	}
	r.proc = p
	if err := waitHTTP(r.URL()+"/healthz", 200, 10*time.Second, p); err != nil {
		return fmt.Errorf("replica %s on %s: %v (%s)", r.ID, r.Addr, err, filepath.Join(r.top.logDir, r.ID+".log"))
	}
	return nil
}

// Kill sends SIGKILL (a crash: no drain) and waits until it is reaped.
func (r *Replica) Kill(t *testing.T) {
	t.Helper()
	p := r.current()
	p.signal(syscall.SIGKILL)
	if !p.wait(5 * time.Second) {
		t.Fatalf("replica %s (pid %d) still runs 5s after SIGKILL", r.ID, p.pid())
	}
}

// Term sends SIGTERM, waits for the drain to end, and fails the test unless
// the process exits 0 within 20s. It returns how long the drain took.
func (r *Replica) Term(t *testing.T) time.Duration {
	t.Helper()
	p := r.current()
	start := time.Now()
	p.signal(syscall.SIGTERM)
	if !p.wait(20 * time.Second) {
		t.Fatalf("replica %s (pid %d) still runs 20s after SIGTERM", r.ID, p.pid())
	}
	took := time.Since(start)
	if s := p.exitStatus(); s != "exit status 0" {
		t.Errorf("replica %s ended with %s after SIGTERM, want exit status 0", r.ID, s)
	}
	return took
}

// stop ends the replica at the end of the test.
func (r *Replica) stop() {
	if p := r.current(); p != nil {
		p.stop(syscall.SIGTERM, 15*time.Second)
	}
}

// waitHTTP polls u until it answers want, for at most d; it gives up early
// when p exits.
func waitHTTP(u string, want int, d time.Duration, p *process) error {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(d)
	var last string
	for {
		resp, err := c.Get(u)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited (%s) before %s answered %d", p.name, p.exitStatus(), u, want)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer %d within %v (last: %s)", u, want, d, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
