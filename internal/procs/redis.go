package procs

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// RedisInstallHint says how to get the redis-server the tools start.
const RedisInstallHint = "install it with: apt-get install -y redis-server (or run make deps as root)"

// StartRedis runs a private redis-server on a free loopback port, with its
// files and log (redis.log) in dir and no snapshots, and waits until it
// answers PING. extra are more "--option value" arguments. It returns the
// process and its host:port. (Tests use internal/redistest, which ties the
// server to a testing.TB; this is for programs.)
func StartRedis(dir string, extra ...string) (*Process, string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, "", errors.New("redis-server not found; " + RedisInstallHint)
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, "", err
	}
	_, port, _ := net.SplitHostPort(addr)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", fmt.Errorf("redis-server: %w", err)
	}
	log, err := OpenLog(filepath.Join(dir, "redis.log"))
	if err != nil {
		return nil, "", fmt.Errorf("redis-server: %w", err)
	}
	defer log.Close()
	args := append([]string{
		"--port", port, "--bind", "127.0.0.1", "--dir", dir, "--save", "",
		"--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning",
	}, extra...)
	p, err := Start("redis-server", log, nil, bin, args...)
	if err != nil {
		return nil, "", err
	}
	deadline := time.Now().Add(10 * time.Second)
	for !ping(addr) {
		if p.Exited() || time.Now().After(deadline) {
			p.Stop(syscall.SIGTERM, 5*time.Second)
			tail, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			return nil, "", fmt.Errorf("redis-server on %s did not answer PING:\n%s", addr, lastBytes(tail, 2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p, addr, nil
}

// ping reports whether a Redis server answers PING at addr.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	buf := make([]byte, 16)
	n, _ := c.Read(buf)
	return bytes.HasPrefix(buf[:n], []byte("+PONG"))
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
