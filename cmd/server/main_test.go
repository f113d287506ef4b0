package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/procs"
	"github.com/sessiond/sessiond/internal/redistest"
)

// TestMain lets tests run the real main in a child process: the test
// binary re-executes itself with SESSIOND_TEST_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("SESSIOND_TEST_MAIN") == "1" {
		os.Args = append([]string{"sessiond"}, strings.Fields(os.Getenv("SESSIOND_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// mainEnv is the environment of a child running main: exactly env, and
// the switch.
func mainEnv(args string, env ...string) []string {
	return append([]string{"SESSIOND_TEST_MAIN=1", "SESSIOND_TEST_ARGS=" + args}, env...)
}

func mainCommand(t *testing.T, args string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = mainEnv(args, env...)
	cmd.Dir = t.TempDir()
	return cmd
}

// startMain runs main in a child process (in an empty working folder) with
// exactly the variables kv (and ADDR on a free port), and waits until it
// is healthy. Its stop sends SIGTERM and returns an error unless the
// process exits 0. Tests use it where run's getenv is not enough: the
// OpenTelemetry exporter and go-redis' logger are process-wide.
func startMain(t *testing.T, kv ...string) *server {
	t.Helper()
	port := redistest.FreePort(t)
	var env []string
	for i := 0; i+1 < len(kv); i += 2 {
		env = append(env, kv[i]+"="+kv[i+1])
	}
	env = append(env, fmt.Sprintf("ADDR=127.0.0.1:%d", port))
	s := &server{url: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &procs.SyncBuffer{}}
	p, err := procs.StartServer(procs.Server{
		Name: "sessiond", Bin: os.Args[0], Args: []string{"-test.run=^$"}, Env: mainEnv("", env...),
		Dir: t.TempDir(), Out: s.logs, URL: s.url,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, s.logs)
	}
	var once sync.Once
	var result error
	s.stop = func() error {
		once.Do(func() {
			p.Signal(syscall.SIGTERM)
			if !p.Wait(20 * time.Second) {
				p.Stop(syscall.SIGKILL, time.Second)
				result = errors.New("no exit 20s after SIGTERM")
			} else if st := p.ExitStatus(); st != "exit status 0" {
				result = fmt.Errorf("after SIGTERM: %s", st)
			}
		})
		return result
	}
	t.Cleanup(func() { _ = s.stop() })
	s.waitLog(t, `"msg":"listening"`)
	return s
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
	s := startMain(t, "SHUTDOWN_DELAY", "100ms")
	healthcheck := mainCommand(t, "healthcheck", "ADDR=0.0.0.0:"+s.url[strings.LastIndexByte(s.url, ':')+1:])
	if err := healthcheck.Run(); err != nil {
		t.Fatalf("healthcheck: %v", err)
	}
	start := time.Now()
	if err := s.stop(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("exit %v after SIGTERM, want within 10s", d)
	}
}
