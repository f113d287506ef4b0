// Package devstack runs the service's shape on loopback: several replicas
// of the built sessiond sharing one Redis, behind Debian's nginx rendered
// from the balancer template the repository ships (internal/lbconfig,
// Loopback). The end-to-end tests (internal/e2e) and `make dev` (cmd/dev)
// both start it from here, so what a developer clicks through is what the
// tests break.
//
// Redis is the caller's: the tests start it with internal/redistest,
// cmd/dev with procs.StartRedis. Every process is ended by its PID.
package devstack

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/sessiond/sessiond/internal/lbconfig"
	"github.com/sessiond/sessiond/internal/procs"
)

// Config is what a stack is made of.
type Config struct {
	// Server is the built sessiond binary.
	Server string
	// Dir holds the replicas' logs (<id>.log) and nginx's files (nginx/).
	Dir string
	// RedisURL is the Redis every replica uses.
	RedisURL string
	// Replicas is how many (default 3), named r1, r2, ..., each running
	// Server. Ignored when Specs is set.
	Replicas int
	// Specs, when set, are the replicas, each with its own name and
	// possibly its own binary and variables (two releases side by side).
	Specs []ReplicaSpec
	// Listen is nginx's host:port; "" picks a free loopback port.
	Listen string
	// Env are more variables for every replica, after REDIS_URL and a
	// random SESSION_SECRET shared by all (a later one wins). Replicas get
	// exactly these variables, not the caller's environment.
	Env []string
	// Output, when set, is where replica id's output goes (it is not
	// closed); otherwise each start appends to Dir/<id>.log.
	Output func(id string) io.Writer
}

// ReplicaSpec is one replica: its name (REPLICA_ID) and, when they are
// not the stack's, its binary and more variables.
type ReplicaSpec struct {
	ID string
	// Server is the binary; "" is Config.Server.
	Server string
	// Env are variables after the stack's (a later one wins), before ADDR
	// and REPLICA_ID, which the stack sets.
	Env []string
}

// Stack is the running replicas and balancer.
type Stack struct {
	// LB is the balancer's base URL, as users reach the service.
	LB string
	// Replicas are the replicas in the balancer, in its order (Add and
	// Remove change it).
	Replicas []*Replica
	Nginx    *procs.Process

	cfg      Config
	env      []string // shared by every replica
	nginxDir string
	listen   string
	started  []*Replica // every replica ever started, for Stop
}

// Start starts the replicas (at once), then nginx in front of them, and
// waits until a request through nginx is served. On an error it ends what
// it started.
func Start(cfg Config) (*Stack, error) {
	if len(cfg.Specs) == 0 {
		if cfg.Replicas == 0 {
			cfg.Replicas = 3
		}
		for i := range cfg.Replicas {
			cfg.Specs = append(cfg.Specs, ReplicaSpec{ID: fmt.Sprintf("r%d", i+1)})
		}
	}
	nginxBin, err := lbconfig.NginxBinary()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // never fails (crypto/rand)
	s := &Stack{cfg: cfg}
	s.env = append([]string{"REDIS_URL=" + cfg.RedisURL, "SESSION_SECRET=" + hex.EncodeToString(secret)}, cfg.Env...)
	// The replicas' ports are picked together, so that no two get the same
	// one: started on one port, one replica fails to listen while the
	// other answers its health check for it.
	addrs, err := procs.FreeAddrs(len(cfg.Specs))
	if err != nil {
		return nil, err
	}
	for i, spec := range cfg.Specs {
		s.Replicas = append(s.Replicas, s.newReplica(spec, addrs[i]))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(s.Replicas))
	for i, r := range s.Replicas {
		wg.Go(func() { errs[i] = r.Start() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.startNginx(nginxBin); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// newReplica gives spec a free loopback address; it does not start it.
func (s *Stack) newReplica(spec ReplicaSpec, addr string) *Replica {
	if spec.Server == "" {
		spec.Server = s.cfg.Server
	}
	r := &Replica{ID: spec.ID, Addr: addr, stack: s, spec: spec}
	s.started = append(s.started, r)
	return r
}

func (s *Stack) startNginx(bin string) error {
	s.nginxDir = filepath.Join(s.cfg.Dir, "nginx")
	if err := os.MkdirAll(s.nginxDir, 0o755); err != nil {
		return fmt.Errorf("nginx: %w", err)
	}
	s.listen = s.cfg.Listen
	if s.listen == "" {
		var err error
		if s.listen, err = procs.FreeAddr(); err != nil {
			return err
		}
	}
	confPath, err := s.writeNginxConf()
	if err != nil {
		return err
	}
	dir, listen := s.nginxDir, s.listen
	log, err := procs.OpenLog(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return fmt.Errorf("nginx: %w", err)
	}
	defer log.Close()
	p, err := procs.Start("nginx", log, nil, bin, "-p", dir, "-c", confPath, "-e", "stderr", "-g", "daemon off;")
	if err != nil {
		return err
	}
	s.Nginx = p
	s.LB = "http://" + listen
	if err := procs.WaitHTTP(s.LB+"/healthz", 200, 10*time.Second, p.Gone); err != nil {
		return fmt.Errorf("nginx on %s: %w (see %s)", listen, err, filepath.Join(dir, "error.log"))
	}
	return nil
}

// writeNginxConf renders the balancer's configuration for the replicas in
// s.Replicas into the nginx folder and returns its path.
func (s *Stack) writeNginxConf() (string, error) {
	var servers []string
	for _, r := range s.Replicas {
		servers = append(servers, r.Addr)
	}
	var conf bytes.Buffer
	if err := lbconfig.Render(&conf, lbconfig.Loopback(s.nginxDir, s.listen, servers)); err != nil {
		return "", err
	}
	confPath := filepath.Join(s.nginxDir, "nginx.conf")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("nginx: %w", err)
	}
	return confPath, nil
}

// Stop ends nginx, then every replica ever started, at once (each drains
// for its SHUTDOWN_DELAY), by PID. It returns when all are reaped.
func (s *Stack) Stop() {
	if s.Nginx != nil {
		s.Nginx.Stop(syscall.SIGTERM, 5*time.Second)
	}
	var wg sync.WaitGroup
	for _, r := range s.started {
		wg.Go(r.Stop)
	}
	wg.Wait()
}
