// Package filestore is the session engine's filesystem backend: one
// folder, for running one process (or a few on one machine) without Redis.
package filestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/sessiond/sessiond/internal/session"
)

// Store stores each session and each user index as one JSON file in a
// folder: the store for running one process with no Redis. Writes are
// serialized by a lock (a mutex within the process, flock across processes
// sharing the folder) and land by rename, so a crash never leaves a
// half-written session. Expired files are swept periodically.
type Store struct {
	dir  string
	mu   sync.Mutex
	lock *os.File
	now  func() time.Time
	stop chan struct{}
	done chan struct{}
}

var _ session.Backend = (*Store)(nil)

// fileRecord is the on-disk form of a session or an index.
type fileRecord struct {
	Key      string            `json:"key"`
	ExpireAt int64             `json:"expire_at"` // unix ms; 0 = none
	Fields   map[string]string `json:"fields,omitempty"`
	Members  map[string]int64  `json:"members,omitempty"` // index: member -> deadline ms
}

// New opens (creating it if needed) a store in dir and starts its
// sweeper. Close stops it.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return nil, fmt.Errorf("files store: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("files store: %w", err)
	}
	f := &Store{dir: dir, lock: lock, now: time.Now, stop: make(chan struct{}), done: make(chan struct{})}
	go f.sweepLoop(time.Minute)
	return f, nil
}

// Close stops the sweeper and releases the folder.
func (f *Store) Close() error {
	close(f.stop)
	<-f.done
	return f.lock.Close()
}

func (f *Store) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(f.dir, "data", hex.EncodeToString(sum[:16])+".json")
}

// locked runs fn holding the store's write lock.
func (f *Store) locked(fn func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := syscall.Flock(int(f.lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("files store lock: %w", err)
	}
	defer syscall.Flock(int(f.lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // unlock of a held lock
	return fn()
}

// read returns the live record under key, or nil.
func (f *Store) read(key string) (*fileRecord, error) {
	b, err := os.ReadFile(f.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("files store read: %w", err)
	}
	var r fileRecord
	if err := json.Unmarshal(b, &r); err != nil || r.Key != key {
		return nil, nil // corrupt or foreign file: treated as absent
	}
	if r.ExpireAt != 0 && r.ExpireAt <= f.now().UnixMilli() {
		return nil, nil
	}
	return &r, nil
}

func (f *Store) write(r *fileRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	p := f.path(r.Key)
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("files store write: %w", err)
	}
	_, werr := tmp.Write(b)
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("files store write: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("files store write: %w", err)
	}
	return nil
}

func (f *Store) remove(key string) error {
	if err := os.Remove(f.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("files store delete: %w", err)
	}
	return nil
}

// Load implements session.Backend.
func (f *Store) Load(_ context.Context, key string) (session.Record, bool, error) {
	r, err := f.read(key)
	if err != nil || r == nil {
		return nil, false, err
	}
	return session.Record(r.Fields), true, nil
}

// LoadMany implements session.Backend.
func (f *Store) LoadMany(ctx context.Context, keys []string) ([]session.Record, error) {
	out := make([]session.Record, len(keys))
	for i, k := range keys {
		rec, _, err := f.Load(ctx, k)
		if err != nil {
			return nil, err
		}
		out[i] = rec
	}
	return out, nil
}

// Create implements session.Backend: the index entry is written first, under the
// same lock.
func (f *Store) Create(_ context.Context, key string, rec session.Record, expireAt time.Time, ix session.IndexOps) error {
	return f.locked(func() error {
		cur, err := f.read(key)
		if err != nil {
			return err
		}
		if cur != nil {
			return session.ErrExists
		}
		if ix.AddMember != "" {
			if err := f.indexAdd(ix.AddIndex, ix.AddMember, ix.AddDeadline); err != nil {
				return err
			}
		}
		fields := make(map[string]string, len(rec))
		for k, v := range rec {
			fields[k] = v
		}
		return f.write(&fileRecord{Key: key, ExpireAt: expireAt.UnixMilli(), Fields: fields})
	})
}

// Apply implements session.Backend.
func (f *Store) Apply(_ context.Context, key string, d session.Delta) ([]int64, error) {
	var out []int64
	err := f.locked(func() error {
		var err error
		out, err = f.apply(key, "", d)
		return err
	})
	return out, err
}

// Rename implements session.Backend.
func (f *Store) Rename(_ context.Context, from, to string, d session.Delta, ix session.IndexOps) ([]int64, error) {
	var out []int64
	err := f.locked(func() error {
		if cur, err := f.read(from); err != nil {
			return err
		} else if cur == nil {
			return session.ErrGone
		}
		if ix.AddMember != "" {
			if err := f.indexAdd(ix.AddIndex, ix.AddMember, ix.AddDeadline); err != nil {
				return err
			}
		}
		var err error
		if out, err = f.apply(from, to, d); err != nil {
			return err
		}
		if ix.RemoveMember != "" {
			return f.indexRemove(ix.RemoveIndex, ix.RemoveMember)
		}
		return nil
	})
	return out, err
}

// apply mirrors the Redis script: all checks, then all writes.
func (f *Store) apply(key, to string, d session.Delta) ([]int64, error) {
	r, err := f.read(key)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, session.ErrGone
	}
	if to != "" {
		if t, err := f.read(to); err != nil || t != nil {
			return nil, errors.Join(err, session.ErrExists)
		}
	}
	var conflicts []string
	for _, s := range d.Sets {
		if cur := r.Fields[s.Field]; cur != s.Expected && cur != s.Value {
			conflicts = append(conflicts, s.Field)
		}
	}
	for _, s := range d.Dels {
		if cur, ok := r.Fields[s.Field]; ok && cur != s.Expected {
			conflicts = append(conflicts, s.Field)
		}
	}
	if len(conflicts) > 0 {
		return nil, &session.ConflictError{Fields: conflicts}
	}
	results := make([]int64, len(d.Incrs))
	for i, in := range d.Incrs {
		var cur int64
		fmt.Sscan(r.Fields[in.Field], &cur) //nolint:errcheck // absent or non-integer counts as 0
		results[i] = cur + in.By
		if in.Max > 0 && results[i] > in.Max {
			return nil, session.ErrLimit
		}
	}
	if r.Fields == nil {
		r.Fields = map[string]string{}
	}
	d.ApplyTo(r.Fields, results)
	if !d.ExpireAt.IsZero() {
		r.ExpireAt = d.ExpireAt.UnixMilli()
	}
	if to != "" {
		r.Key = to
		if err := f.write(r); err != nil {
			return nil, err
		}
		return results, f.remove(key)
	}
	return results, f.write(r)
}

// Delete implements session.Backend.
func (f *Store) Delete(_ context.Context, keys ...string) error {
	return f.locked(func() error {
		for _, k := range keys {
			if err := f.remove(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// IndexAdd implements session.Backend.
func (f *Store) IndexAdd(_ context.Context, index, member string, deadline time.Time) error {
	return f.locked(func() error { return f.indexAdd(index, member, deadline) })
}

func (f *Store) indexAdd(index, member string, deadline time.Time) error {
	r, err := f.read(index)
	if err != nil {
		return err
	}
	if r == nil {
		r = &fileRecord{Key: index}
	}
	if r.Members == nil {
		r.Members = map[string]int64{}
	}
	r.Members[member] = deadline.UnixMilli()
	now := f.now().UnixMilli()
	for m, dl := range r.Members {
		if dl <= now {
			delete(r.Members, m)
		}
		r.ExpireAt = max(r.ExpireAt, dl)
	}
	return f.write(r)
}

// IndexRemove implements session.Backend.
func (f *Store) IndexRemove(_ context.Context, index string, members ...string) error {
	return f.locked(func() error { return f.indexRemove(index, members...) })
}

func (f *Store) indexRemove(index string, members ...string) error {
	r, err := f.read(index)
	if err != nil || r == nil {
		return err
	}
	for _, m := range members {
		delete(r.Members, m)
	}
	if len(r.Members) == 0 {
		return f.remove(index)
	}
	return f.write(r)
}

// IndexList implements session.Backend.
func (f *Store) IndexList(_ context.Context, index string) ([]session.IndexEntry, error) {
	r, err := f.read(index)
	if err != nil || r == nil {
		return nil, err
	}
	now := f.now().UnixMilli()
	out := make([]session.IndexEntry, 0, len(r.Members))
	for m, dl := range r.Members {
		if dl > now {
			out = append(out, session.IndexEntry{Member: m, Deadline: time.UnixMilli(dl)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Deadline.Before(out[j].Deadline) })
	return out, nil
}

// Ping implements session.Backend: the folder must be writable.
func (f *Store) Ping(context.Context) error {
	if _, err := os.Stat(filepath.Join(f.dir, "data")); err != nil {
		return fmt.Errorf("files store: %w", err)
	}
	return nil
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

// Sweep removes expired files; it reports how many.
func (f *Store) Sweep() int {
	n := 0
	entries, err := os.ReadDir(filepath.Join(f.dir, "data"))
	if err != nil {
		return 0
	}
	now := f.now().UnixMilli()
	for _, e := range entries {
		p := filepath.Join(f.dir, "data", e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var r fileRecord
		if json.Unmarshal(b, &r) != nil {
			continue
		}
		if r.ExpireAt != 0 && r.ExpireAt <= now {
			_ = f.locked(func() error {
				// Re-check under the lock: it may have been refreshed.
				if cur, _ := f.read(r.Key); cur == nil {
					if os.Remove(p) == nil {
						n++
					}
				}
				return nil
			})
		}
	}
	return n
}
