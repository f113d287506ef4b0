// Package procs starts and ends the real processes that the tests, the
// benchmark and `make dev` run: the built sessiond, redis-server, nginx.
//
// Each child runs in its own process group (whose id is its PID), so a
// Ctrl-C at the terminal reaches only the program that started it, which
// then ends each child by its PID; it gets SIGKILL if its parent dies; one
// goroutine reaps it. Nothing here ends a process it did not start.
//
// It imports only the standard library, so the repository's other modules
// (bench, deploy/check) can use it through a replace directive without
// taking on the service's dependencies.
package procs

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Process is one child process.
type Process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // of Wait, valid after done
}

// Start runs bin with args and env (nil env: the parent's), its output to
// out (nil: discarded). name is how messages call it.
func Start(name string, out io.Writer, env []string, bin string, args ...string) (*Process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	return StartCmd(name, cmd)
}

// StartCmd starts cmd (not yet started; its SysProcAttr is replaced) as a
// Process: in a process group of its own, killed if its parent dies.
func StartCmd(name string, cmd *exec.Cmd) (*Process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Name is the name given to Start.
func (p *Process) Name() string { return p.name }

// PID is the process id (also its process group's id).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited and been reaped.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Gone is nil while the process runs, else an error saying how it ended;
// it is what WaitHTTP takes to give up early.
func (p *Process) Gone() error {
	if !p.Exited() {
		return nil
	}
	return fmt.Errorf("%s (pid %d) exited (%s)", p.name, p.PID(), p.ExitStatus())
}

// Signal sends sig to the process by its PID; nothing once it is reaped.
func (p *Process) Signal(sig syscall.Signal) {
	if !p.Exited() {
		_ = p.cmd.Process.Signal(sig)
	}
}

// Wait waits up to d for the process to exit; false when it still runs.
func (p *Process) Wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// ExitStatus waits for the process and says how it ended: "exit status 0"
// is a clean exit.
func (p *Process) ExitStatus() string {
	<-p.done
	if p.err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.String()
	}
	return p.err.Error()
}

// Stop ends the process: sig, then after grace SIGKILL to its process
// group (nginx's workers are in it). It returns once the process is reaped.
func (p *Process) Stop(sig syscall.Signal, grace time.Duration) {
	p.Signal(sig)
	if p.Wait(grace) {
		return
	}
	_ = syscall.Kill(-p.PID(), syscall.SIGKILL)
	<-p.done
}

// Kill sends SIGKILL to the process' group at once (nginx's workers are in
// it), even when the process itself has already been reaped.
func (p *Process) Kill() {
	_ = syscall.Kill(-p.PID(), syscall.SIGKILL)
}

// OpenLog opens, appending, the file a process writes its output to.
func OpenLog(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

// FreeAddr is a loopback host:port that nothing listened on a moment ago.
func FreeAddr() (string, error) {
	addrs, err := FreeAddrs(1)
	if err != nil {
		return "", err
	}
	return addrs[0], nil
}

// FreeAddrs is n different loopback host:ports that nothing listened on a
// moment ago. Each is held until all are picked: n calls of FreeAddr may
// return one port twice (the kernel may hand a port out again once it is
// closed), and two servers started on it make one fail while the other
// answers for both.
func FreeAddrs(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		defer l.Close() // held until every port is picked
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}
