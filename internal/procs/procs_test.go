package procs

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary is also the child: PROCS_TEST_CHILD says what it does.
func TestMain(m *testing.M) {
	switch os.Getenv("PROCS_TEST_CHILD") {
	case "":
		os.Exit(m.Run())
	case "exit2":
		os.Exit(2)
	case "serve":
		http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
		_ = http.ListenAndServe(os.Getenv("ADDR"), nil)
	case "deaf":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM") // the test signals only after this line
		time.Sleep(time.Minute)
	}
	os.Exit(0)
}

func child(what string, env ...string) []string {
	return append([]string{"PROCS_TEST_CHILD=" + what}, env...)
}

func TestStartServerWaitsUntilHealthy(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p, err := StartServer(Server{Name: "child", Bin: os.Args[0], Env: child("serve", "ADDR="+addr), URL: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(syscall.SIGTERM, 5*time.Second)
	if p.Exited() || p.Gone() != nil {
		t.Fatalf("healthy server reported gone: %v", p.Gone())
	}
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("after StartServer: %v %v", res, err)
	}
	res.Body.Close()
}

// A server that exits at start is reported at once, with its status, not
// after the whole timeout.
func TestStartServerReportsAnEarlyExit(t *testing.T) {
	addr, _ := FreeAddr()
	start := time.Now()
	_, err := StartServer(Server{Name: "child", Bin: os.Args[0], Env: child("exit2"), URL: "http://" + addr, Timeout: 30 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "exit status 2") {
		t.Fatalf("err %v, want the exit status", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v to notice the exit", d)
	}
}

// Stop escalates to SIGKILL after the grace period and returns once the
// process is reaped. The child is signalled once it says it ignores
// SIGTERM: under -race on a busy machine it takes its time to get there.
func TestStopKillsAfterGrace(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env, cmd.Stdout = child("deaf"), w
	p, err := StartCmd("deaf", cmd)
	w.Close() // the child holds its own copy
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if !p.Exited() { // a failure before Stop
			p.Kill()
		}
	}()
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		if err == nil && line != "ignoring SIGTERM\n" {
			err = fmt.Errorf("child said %q", line)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("waiting for the child to ignore SIGTERM: %v", err)
		}
	case <-p.Done():
		t.Fatalf("child exited before it was ready: %s", p.ExitStatus())
	case <-time.After(30 * time.Second):
		t.Fatal("child not ready after 30s")
	}
	start := time.Now()
	p.Stop(syscall.SIGTERM, 300*time.Millisecond)
	if !p.Exited() || !strings.Contains(p.ExitStatus(), "killed") {
		t.Fatalf("after Stop: exited %v, %s", p.Exited(), p.ExitStatus())
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Fatalf("Stop took %v", d)
	}
}

// FreeAddrs hands out no port twice, which n calls of FreeAddr may.
func TestFreeAddrsAreDifferent(t *testing.T) {
	addrs, err := FreeAddrs(100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			t.Fatalf("%s handed out twice", a)
		}
		seen[a] = true
	}
}

func TestWaitHTTPTimesOut(t *testing.T) {
	addr, _ := FreeAddr()
	err := WaitHTTP("http://"+addr+"/healthz", 200, 200*time.Millisecond, nil)
	if err == nil || !strings.Contains(err.Error(), "did not answer 200") {
		t.Fatalf("err %v", err)
	}
}
