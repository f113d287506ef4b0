package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/redistest"
)

// TestMain lets tests run the real main in a child process: the test
// binary re-executes itself with SESSIOND_TEST_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("SESSIOND_TEST_MAIN") == "1" {
		os.Args = append([]string{"server"}, strings.Fields(os.Getenv("SESSIOND_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func mainCommand(t *testing.T, args string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append([]string{"SESSIOND_TEST_MAIN=1", "SESSIOND_TEST_ARGS=" + args}, env...)
	cmd.Dir = t.TempDir()
	return cmd
}

func TestMainConfigErrorsExit2(t *testing.T) {
	t.Parallel()
	out, err := mainCommand(t, "", "SESSION_LIFETIME=forever", "LOG_FORMAT=xml", "REDIS_URL=redis://localhost:1").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !strings.Contains(string(out), "SESSION_LIFETIME") || !strings.Contains(string(out), "LOG_FORMAT") ||
		!strings.Contains(string(out), "SESSION_SECRET is required") {
		t.Fatalf("want 3 problem lines:\n%s", out)
	}

	out, err = mainCommand(t, "frobnicate").CombinedOutput()
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "usage") {
		t.Fatalf("unknown argument: %v\n%s", err, out)
	}
}

// TestMainSIGTERM: the real process exits 0 on SIGTERM.
func TestMainSIGTERM(t *testing.T) {
	t.Parallel()
	port := redistest.FreePort(t)
	cmd := mainCommand(t, "", fmt.Sprintf("ADDR=127.0.0.1:%d", port), "SHUTDOWN_DELAY=100ms")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	healthcheck := mainCommand(t, "healthcheck", fmt.Sprintf("ADDR=0.0.0.0:%d", port))
	if err := healthcheck.Run(); err != nil {
		t.Fatalf("healthcheck: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}
