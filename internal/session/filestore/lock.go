package filestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// errLockTimeout: the store's lock was not free within the call's time
// (another process holds it, or a disk stalls). The caller answers 503.
var errLockTimeout = errors.New("files store: the store's lock was not free in time")

// locked runs fn holding the store's lock: the in-process semaphore, then
// flock on the folder's lock file, each waited for no longer than ctx
// allows. flock is taken without blocking and retried, because a blocking
// flock cannot be abandoned when the context ends.
func (f *Store) locked(ctx context.Context, fn func() error) error {
	select {
	case f.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", errLockTimeout, ctx.Err())
	}
	defer func() { <-f.sem }()
	wait := 200 * time.Microsecond
	for {
		err := syscall.Flock(int(f.lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return fmt.Errorf("files store lock: %w", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", errLockTimeout, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 10*time.Millisecond)
	}
	defer syscall.Flock(int(f.lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // unlock of a held lock
	return fn()
}

func (f *Store) sweepLoop(every time.Duration) {
	defer close(f.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			f.Sweep()
		}
	}
}

// Sweep removes expired files (sessions, forwards, indexes whose every
// entry has passed); it reports how many. A file it cannot read is left
// alone: a read error is not proof of expiry.
func (f *Store) Sweep() int {
	n := 0
	entries, err := os.ReadDir(f.data)
	if err != nil {
		return 0
	}
	for _, e := range entries {
		p := filepath.Join(f.data, e.Name())
		r, err := readFile(p)
		if err != nil || r == nil {
			continue
		}
		if r.ExpireAt == 0 || r.ExpireAt > f.now().UnixMilli() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = f.locked(ctx, func() error {
			// Re-check under the lock: it may have been refreshed.
			cur, err := readFile(p)
			if err != nil || cur == nil || cur.ExpireAt == 0 || cur.ExpireAt > f.now().UnixMilli() {
				return nil
			}
			if os.Remove(p) == nil {
				n++
				_ = f.syncDir()
			}
			return nil
		})
		cancel()
	}
	return n
}
