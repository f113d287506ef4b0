package procs

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"syscall"
	"time"
)

// Server is how to start a built server that answers GET /healthz.
type Server struct {
	Name string
	Bin  string
	Args []string
	Env  []string  // nil: the parent's environment
	Dir  string    // working folder; "" is the parent's
	Out  io.Writer // its stdout and stderr; nil discards them
	// URL is the server's base URL, e.g. http://127.0.0.1:8004.
	URL string
	// Timeout bounds the wait for /healthz (default 10s).
	Timeout time.Duration
}

// StartServer starts s.Bin and waits until GET s.URL/healthz answers 200.
// When it does not (the process exited, or the time is up) the process is
// ended and the error says why.
func StartServer(s Server) (*Process, error) {
	if s.Timeout == 0 {
		s.Timeout = 10 * time.Second
	}
	cmd := exec.Command(s.Bin, s.Args...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = s.Env, s.Dir, s.Out, s.Out
	p, err := StartCmd(s.Name, cmd)
	if err != nil {
		return nil, err
	}
	if err := WaitHTTP(s.URL+"/healthz", http.StatusOK, s.Timeout, p.Gone); err != nil {
		p.Stop(syscall.SIGTERM, 5*time.Second)
		return nil, fmt.Errorf("%s on %s: %w", s.Name, s.URL, err)
	}
	return p, nil
}

// WaitHTTP polls GET u until it answers want, for at most d. gone, when not
// nil, is asked between tries and ends the wait early with its error (see
// Process.Gone): a server that exited at start is reported at once.
func WaitHTTP(u string, want int, d time.Duration, gone func() error) error {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	deadline := time.Now().Add(d)
	var last string
	for {
		resp, err := c.Get(u)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if gone != nil {
			if err := gone(); err != nil {
				return fmt.Errorf("%w before %s answered %d", err, u, want)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer %d within %v (last: %s)", u, want, d, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
