package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/sessiond/sessiond/internal/procs"
)

// proc is one process the suite started (internal/procs: its own process
// group, stopped by its PID), with the file its output goes to.
type proc struct {
	*procs.Process
	log string
}

// stop sends SIGTERM to the process (by PID), then SIGKILL after 5s.
func (p *proc) stop() {
	if p != nil && p.Process != nil {
		p.Stop(syscall.SIGTERM, 5*time.Second)
	}
}

func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// startServer starts a target server with its output in logPath and waits
// until GET base/healthz answers 200 (procs.StartServer, the helper the
// tests use).
func startServer(name, bin string, args, env []string, logPath, base string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer lf.Close() // the child has its own descriptor
	p, err := procs.StartServer(procs.Server{Name: name, Bin: bin, Args: args, Env: env, Out: lf, URL: base, Timeout: 20 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, (&proc{log: logPath}).logTail())
	}
	return &proc{Process: p, log: logPath}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startRedis runs a private redis-server: loopback, free port, no
// persistence, its files in dir.
func startRedis(dir string) (*proc, string, error) {
	p, addr, err := procs.StartRedis(dir, "--appendonly", "no", "--databases", "16")
	if err != nil {
		return nil, "", err
	}
	return &proc{Process: p, log: dir + "/redis.log"}, addr, nil
}

// goBuild builds pkg (relative to dir) into out, with the local toolchain.
func goBuild(ctx context.Context, dir, out, pkg string, extra ...string) error {
	return procs.Build(ctx, dir, out, pkg, extra...)
}
