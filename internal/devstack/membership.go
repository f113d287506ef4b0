package devstack

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sessiond/sessiond/internal/procs"
)

// Membership changes, as a deploy makes them (Kubernetes' maxSurge: 1,
// maxUnavailable: 0): Add starts a replica and puts it into the balancer;
// Remove takes one out of the balancer, for the caller to drain (SIGTERM)
// afterwards. The balancer learns of each change by a re-rendered
// configuration and a reload (SIGHUP to nginx's master). Add and Remove
// are for one goroutine at a time, which also owns reads of s.Replicas.

// reloadTimeout bounds a reload: nginx's old workers end once their
// requests in flight are answered.
const reloadTimeout = 15 * time.Second

// Add starts a replica of spec on a free loopback address, waits until its
// /readyz answers 200, adds it to the balancer and waits until a request
// through the balancer is answered by it. On an error the replica is ended
// and left out.
func (s *Stack) Add(spec ReplicaSpec) (*Replica, error) {
	addr, err := procs.FreeAddr() // the running replicas listen on theirs
	if err != nil {
		return nil, err
	}
	r := s.newReplica(spec, addr)
	if err := r.Start(); err != nil {
		return nil, err
	}
	fail := func(err error) (*Replica, error) {
		r.Stop()
		return nil, err
	}
	if err := waitReady(r); err != nil {
		return fail(err)
	}
	s.Replicas = append(s.Replicas, r)
	if err := s.reload(); err != nil {
		s.Replicas = s.Replicas[:len(s.Replicas)-1]
		return fail(err)
	}
	if err := s.waitServedBy(r.ID); err != nil {
		return fail(err)
	}
	return r, nil
}

// Remove takes r out of the balancer and waits until nginx runs without it
// (every worker of the previous configuration has ended). r keeps running:
// the caller ends it, e.g. with SIGTERM to drain it.
func (s *Stack) Remove(r *Replica) error {
	i := slices.Index(s.Replicas, r)
	if i < 0 {
		return fmt.Errorf("devstack: replica %s is not in the balancer", r.ID)
	}
	s.Replicas = slices.Delete(s.Replicas, i, i+1)
	if err := s.reload(); err != nil {
		s.Replicas = slices.Insert(s.Replicas, i, r)
		return err
	}
	return nil
}

// reload renders the configuration for s.Replicas, sends SIGHUP to nginx
// and waits until every worker it had before has ended: from then on, no
// request is sent by the previous configuration.
func (s *Stack) reload() error {
	if _, err := s.writeNginxConf(); err != nil {
		return err
	}
	before, err := children(s.Nginx.PID())
	if err != nil {
		return err
	}
	s.Nginx.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(reloadTimeout)
	for {
		now, err := children(s.Nginx.PID())
		if err != nil {
			return err
		}
		if len(now) > 0 && !slices.ContainsFunc(now, func(pid int) bool { return slices.Contains(before, pid) }) {
			return nil
		}
		if err := s.Nginx.Gone(); err != nil {
			return fmt.Errorf("nginx reload: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nginx reload: workers %v of the previous configuration still run after %v (see %s)",
				before, reloadTimeout, filepath.Join(s.nginxDir, "error.log"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// children are the PIDs of pid's child processes (Linux).
func children(pid int) ([]int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil, fmt.Errorf("nginx workers: %w", err)
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// waitReady waits until the replica's /readyz answers 200.
func waitReady(r *Replica) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(r.URL() + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := r.Process().Gone(); err != nil {
			return fmt.Errorf("replica %s: %w before /readyz answered 200", r.ID, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replica %s: /readyz did not answer 200 within 10s (last: %v)", r.ID, errOrStatus(resp, err))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitServedBy sends GET /healthz through the balancer until replica id
// answers one: it is in the rotation.
func (s *Stack) waitServedBy(id string) error {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	deadline := time.Now().Add(10 * time.Second)
	var seen []string
	for n := 0; ; n++ {
		resp, err := client.Get(s.LB + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if got := resp.Header.Get("X-Replica"); got == id {
				return nil
			} else if len(seen) < 8 {
				seen = append(seen, got)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("balancer: no request answered by replica %s within 10s (%d tries, answered by %v...)", id, n+1, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func errOrStatus(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}
