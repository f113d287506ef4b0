package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sessiond/sessiond/internal/devstack"
	"github.com/sessiond/sessiond/internal/procs"
)

// run starts the stack, waits for SIGINT or SIGTERM (or for nginx or Redis
// to end), and stops everything.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	server := fs.String("server", "bin/sessiond", "the built sessiond (make build); built into the work folder when missing")
	listen := fs.String("listen", "127.0.0.1:8004", "nginx's loopback address, the URL to open")
	replicas := fs.Int("replicas", 3, "how many replicas")
	keep := fs.Bool("keep", false, "keep the work folder (logs, nginx.conf, Redis files) at the end")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// SIGHUP too: the terminal was closed. A write to a closed terminal or
	// pipe must not end this process before it has ended its children.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	signal.Ignore(syscall.SIGPIPE)

	work, err := os.MkdirTemp("", "sessiond-dev-")
	if err != nil {
		return err
	}
	if *keep {
		defer fmt.Fprintf(stdout, "work folder kept: %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	bin, err := serverBinary(ctx, *server, work, stdout)
	if err != nil {
		return err
	}
	redis, redisAddr, err := procs.StartRedis(filepath.Join(work, "redis"))
	if err != nil {
		return err
	}
	defer redis.Stop(syscall.SIGTERM, 5*time.Second)

	out := newReplicaLog(stdout)
	stack, err := devstack.Start(devstack.Config{
		Server:   bin,
		Dir:      work,
		RedisURL: "redis://" + redisAddr + "/0",
		Replicas: *replicas,
		Listen:   *listen,
		Env: []string{
			"REDIS_KEY_PREFIX=dev:",
			"TRUSTED_PROXIES=127.0.0.1/32", // nginx, so the client's own address counts
			"LOG_FORMAT=json",              // read back by replicaLog
			"SHUTDOWN_TIMEOUT=5s",
		},
		Output: out.For,
	})
	if err != nil {
		return err
	}
	printStack(stdout, stack, redis, redisAddr, work)
	var stopping atomic.Bool
	for _, r := range stack.Replicas {
		go func() { // a crashed replica is said, not hidden by nginx's retries
			p := r.Process()
			<-p.Done()
			if !stopping.Load() {
				out.line(r.ID, []byte(p.Gone().Error()+"; nginx sends its requests to the others"))
			}
		}()
	}

	select {
	case <-ctx.Done():
	case <-sigs:
		fmt.Fprintln(stdout, "\nstopping (Ctrl-C again kills at once)")
	case <-stack.Nginx.Done():
		err = stack.Nginx.Gone()
	case <-redis.Done():
		err = redis.Gone()
	}
	stopping.Store(true)
	stopped := make(chan struct{})
	go func() {
		stack.Stop()
		redis.Stop(syscall.SIGTERM, 5*time.Second)
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-sigs:
		fmt.Fprintln(stdout, "killing (SIGKILL to each process group)")
		for _, p := range processes(stack, redis) {
			p.Kill()
		}
		<-stopped
	}
	fmt.Fprintln(stdout, stoppedLine(stack, redis))
	return err
}

// processes are every process of the stack, and Redis.
func processes(s *devstack.Stack, redis *procs.Process) []*procs.Process {
	ps := []*procs.Process{s.Nginx, redis}
	for _, r := range s.Replicas {
		if p := r.Process(); p != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// serverBinary is path when it exists, else a fresh build of cmd/server.
func serverBinary(ctx context.Context, path, work string, stdout io.Writer) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return filepath.Abs(path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	out := filepath.Join(work, "sessiond")
	fmt.Fprintf(stdout, "%s not found: building %s\n", path, procs.ServerPackage)
	return out, procs.Build(ctx, "", out, procs.ServerPackage)
}

func printStack(w io.Writer, s *devstack.Stack, redis *procs.Process, redisAddr, work string) {
	var addrs []string
	for _, r := range s.Replicas {
		addrs = append(addrs, r.ID+" "+r.Addr)
	}
	fmt.Fprintf(w, "\nsessiond is up: open %s\n\n", s.LB)
	fmt.Fprintf(w, "  nginx  pid %-7d %s -> %s (round-robin, lbconfig's template)\n", s.Nginx.PID(), strings.TrimPrefix(s.LB, "http://"), strings.Join(addrs, ", "))
	for _, r := range s.Replicas {
		fmt.Fprintf(w, "  %-6s pid %-7d %s\n", r.ID, r.Process().PID(), r.URL())
	}
	fmt.Fprintf(w, "  redis  pid %-7d %s\n", redis.PID(), redisAddr)
	fmt.Fprintf(w, "  files  %s\n\n", work)
	fmt.Fprintf(w, "Each log line below starts with the replica that wrote it; pages show it in the footer, responses in X-Replica.\nCtrl-C stops everything.\n\n")
}

// stoppedLine says, by PID, that every process has ended.
func stoppedLine(s *devstack.Stack, redis *procs.Process) string {
	var parts []string
	running := 0
	for _, p := range processes(s, redis) {
		state := "ended"
		if !p.Exited() {
			state, running = "STILL RUNNING", running+1
		}
		parts = append(parts, fmt.Sprintf("%s %d %s", p.Name(), p.PID(), state))
	}
	if running > 0 {
		return "not stopped: " + strings.Join(parts, ", ")
	}
	return "stopped: " + strings.Join(parts, ", ")
}
