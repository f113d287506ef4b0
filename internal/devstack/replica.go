package devstack

import (
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/sessiond/sessiond/internal/procs"
)

// Replica is one server process on a fixed loopback address; it can be
// killed, drained and started again on the same address.
type Replica struct {
	ID   string
	Addr string

	stack *Stack
	spec  ReplicaSpec
	mu    sync.Mutex
	proc  *procs.Process
}

// URL is the replica's own base URL, bypassing the balancer.
func (r *Replica) URL() string { return "http://" + r.Addr }

// LogPath is the file the replica's output is appended to (unless
// Config.Output sends it elsewhere).
func (r *Replica) LogPath() string { return filepath.Join(r.stack.cfg.Dir, r.ID+".log") }

// Process is the current process (nil before the first start).
func (r *Replica) Process() *procs.Process {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proc
}

// Running reports whether the replica's process is alive.
func (r *Replica) Running() bool {
	p := r.Process()
	return p != nil && !p.Exited()
}

// Start (re)starts the replica on its address and waits until /healthz
// answers 200.
func (r *Replica) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil && !r.proc.Exited() {
		return fmt.Errorf("replica %s: already running (pid %d)", r.ID, r.proc.PID())
	}
	var out io.Writer
	if r.stack.cfg.Output != nil {
		out = r.stack.cfg.Output(r.ID)
	} else {
		log, err := procs.OpenLog(r.LogPath())
		if err != nil {
			return fmt.Errorf("replica %s: %w", r.ID, err)
		}
		defer log.Close() // the child has its own descriptor
		out = log
	}
	fmt.Fprintf(out, "=== start %s at %s\n", r.ID, time.Now().Format(time.RFC3339Nano))
	env := append(append(append([]string{}, r.stack.env...), r.spec.Env...), "ADDR="+r.Addr, "REPLICA_ID="+r.ID)
	p, err := procs.StartServer(procs.Server{
		Name: "replica " + r.ID, Bin: r.spec.Server, Env: env, Out: out, URL: r.URL(),
	})
	if err != nil {
		if r.stack.cfg.Output == nil {
			err = fmt.Errorf("%w (log: %s)", err, r.LogPath())
		}
		return err
	}
	r.proc = p
	return nil
}

// Stop ends the replica: SIGTERM, SIGKILL after 15s. Nothing when it is
// not running.
func (r *Replica) Stop() {
	if p := r.Process(); p != nil {
		p.Stop(syscall.SIGTERM, 15*time.Second)
	}
}
