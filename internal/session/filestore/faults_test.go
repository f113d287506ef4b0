package filestore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

// A store whose lock another process holds (a stuck or slow peer sharing
// the folder) answers within the call's timeout, with a store error (503),
// and reports itself not ready; it recovers when the lock is released.
func TestStuckLockAnswers503InTime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := mustOpen(t, dir)
	m := sessiontest.MustManager(t, f, "", func(c *session.Config) { c.Timeout = 300 * time.Millisecond })
	a := sessiontest.NewApp(t, m)
	c := a.Login("ann")

	holder := holdLock(t, filepath.Join(dir, ".lock"))
	answered := make(chan int, 1)
	start := time.Now()
	go func() {
		rec, _ := a.Do("POST", "/incr/apples", c)
		answered <- rec.Code
	}()
	select {
	case code := <-answered:
		took := time.Since(start)
		if code != http.StatusServiceUnavailable {
			t.Errorf("a write while the lock is held: %d, want 503", code)
		}
		// judged against the configured bound, from the request's start
		if took > 2*time.Second {
			t.Errorf("a write while the lock is held took %v with a 300ms timeout", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write while the lock is held had no answer after 5s (timeout 300ms)")
	}
	if err := m.Ping(context.Background()); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("readiness while the lock is held: %v, want unavailable", err)
	}
	if got := a.Body("GET", "/user", c); got != "ann" {
		t.Errorf("reads need no lock: user %q", got)
	}
	holder.release()
	if rec, _ := a.Do("POST", "/incr/apples", c); rec.Code != http.StatusOK {
		t.Errorf("after the lock is free: %d", rec.Code)
	}
	if err := m.Ping(context.Background()); err != nil {
		t.Errorf("readiness after the lock is free: %v", err)
	}
}

type lockHolder struct {
	cmd *exec.Cmd
}

// holdLock makes another process (util-linux flock) hold path's lock
// until release or the end of the test, and waits until it does.
func holdLock(t *testing.T, path string) *lockHolder {
	t.Helper()
	bin, err := exec.LookPath("flock")
	if err != nil {
		t.Fatal("flock not found: install util-linux (the test holds the store's lock from another process)")
	}
	cmd := exec.Command(bin, "-x", path, "sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &lockHolder{cmd: cmd}
	t.Cleanup(h.release)
	fd, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	for deadline := time.Now().Add(5 * time.Second); ; {
		err := syscall.Flock(int(fd.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			syscall.Flock(int(fd.Fd()), syscall.LOCK_UN) //nolint:errcheck
		} else if errors.Is(err, syscall.EWOULDBLOCK) {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatal("the flock process did not take the lock in 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// release ends the holder (its whole group: flock and its sleep) by PID.
func (h *lockHolder) release() {
	if h.cmd.Process == nil || h.cmd.ProcessState != nil {
		return
	}
	syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck
	h.cmd.Wait()                                      //nolint:errcheck
}

// A re-login (a rename) on a full disk is all or nothing: for any amount
// of free space, either it succeeded (the new cookie holds the data, the
// old one no longer works) or it failed with a store error and nothing
// changed (the old cookie still works and holds the data). A real tmpfs,
// made full by a real file.
func TestReloginOnFullDiskIsAllOrNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs: run by make test, not test-short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test mounts a small tmpfs to fill it, which needs root (CI runs as root)")
	}
	for _, limit := range []string{"size=", "nr_inodes="} {
		for free := range 6 {
			t.Run(fmt.Sprintf("%s%d free", strings.TrimSuffix(limit, "="), free), func(t *testing.T) {
				dir := mustMountTmpfs(t, "size=1m,nr_inodes=64")
				f := mustOpen(t, dir)
				m := sessiontest.MustManager(t, f, "", nil)
				a := sessiontest.NewApp(t, m)
				c := a.Login("ann")
				a.Do("POST", "/set/theme/dark", c)
				a.Do("POST", "/incr/apples", c)
				stored := sessionsStored(t, dir)
				release := fill(t, dir, limit, free)
				rec, c2 := a.Do("POST", "/login/bob", c)
				release()
				t.Logf("re-login with %d free: %d", free, rec.Code)
				switch {
				case rec.Code == http.StatusOK:
					if a.Body("GET", "/user", c2) != "bob" || a.Body("GET", "/get/theme", c2) != "dark" || a.Body("GET", "/get/apples", c2) != "1" {
						t.Fatalf("re-login answered 200, but the new cookie holds user %q theme %q", a.Body("GET", "/user", c2), a.Body("GET", "/get/theme", c2))
					}
					if a.Body("GET", "/user", c) != "" {
						t.Fatal("re-login answered 200, and the old cookie still works")
					}
				case rec.Code == http.StatusServiceUnavailable:
					if c2 != "" {
						t.Fatalf("a failed re-login set a cookie %q", c2)
					}
					if a.Body("GET", "/user", c) != "ann" || a.Body("GET", "/get/theme", c) != "dark" || a.Body("GET", "/get/apples", c) != "1" {
						t.Fatalf("a failed re-login (503) changed the session: user %q theme %q", a.Body("GET", "/user", c), a.Body("GET", "/get/theme", c))
					}
					if n := sessionsStored(t, dir); n != stored {
						t.Fatalf("a failed re-login (503) left %d stored sessions, was %d", n, stored)
					}
					// and it can be done once there is room again
					if rec, c3 := a.Do("POST", "/login/bob", c); rec.Code != http.StatusOK || a.Body("GET", "/get/theme", c3) != "dark" {
						t.Fatalf("re-login after the disk has room: %d", rec.Code)
					}
				default:
					t.Fatalf("re-login on a full disk: %d %s", rec.Code, rec.Body.String())
				}
			})
		}
	}
}

// sessionsStored counts the session files in the store at dir.
func sessionsStored(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		r, err := readFile(filepath.Join(dir, "data", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if r != nil && r.Fields != nil {
			n++
		}
	}
	return n
}

// mustMountTmpfs mounts a tmpfs with opts on a new folder, unmounted when
// the test ends.
func mustMountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	return dir
}

// fill leaves exactly free pages (size=) or inodes (nr_inodes=) on the
// tmpfs at dir, and returns what frees it again.
func fill(t *testing.T, dir, limit string, free int) func() {
	t.Helper()
	var st syscall.Statfs_t
	var made []string
	if limit == "nr_inodes=" {
		for i := 0; ; i++ {
			if err := syscall.Statfs(dir, &st); err != nil {
				t.Fatal(err)
			}
			if int(st.Ffree) <= free {
				break
			}
			p := filepath.Join(dir, fmt.Sprintf("filler-%d", i))
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatalf("filling inodes: %v", err)
			}
			made = append(made, p)
		}
	} else {
		if err := syscall.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		pages := int(st.Bavail) - free
		p := filepath.Join(dir, "filler")
		if err := os.WriteFile(p, make([]byte, pages*int(st.Bsize)), 0o600); err != nil {
			t.Fatalf("filling pages: %v", err)
		}
		made = append(made, p)
		if err := syscall.Statfs(dir, &st); err != nil || int(st.Bavail) != free {
			t.Fatalf("filled to %d free pages, want %d (%v)", st.Bavail, free, err)
		}
	}
	return func() {
		for _, p := range made {
			os.Remove(p)
		}
	}
}
