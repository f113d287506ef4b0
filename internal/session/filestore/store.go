// Package filestore is the session engine's filesystem backend: one
// folder, for running one process (or a few on one machine) without Redis.
package filestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sessiond/sessiond/internal/session"
)

// Store keeps each session, each forward (a renamed session's old key)
// and each user's index as one JSON file in a folder. Writes hold the
// store's lock (a semaphore within the process, flock across processes
// sharing the folder), which every call waits for at most as long as its
// context allows: a stuck lock is an error (503), never a hang. Files land
// by rename and the folder is synced after every change, so a crash or a
// power loss never leaves a half-written session, and a logout stays done.
// One clock, this process's, stamps and expires sessions. Expired files
// are swept periodically.
type Store struct {
	dir  string
	data string // dir/data
	sem  chan struct{}
	lock *os.File
	now  func() time.Time
	stop chan struct{}
	done chan struct{}
	// layout is the layout of the records this Store writes; every file
	// says which layout wrote it (V).
	layout session.Layout
}

var _ session.Backend = (*Store)(nil)

// fileRecord is the on-disk form of a session, a forward or an index.
type fileRecord struct {
	// V is the layout that wrote the record (absent in layout 1's files,
	// which had none).
	V        session.Layout    `json:"v,omitempty"`
	Key      string            `json:"key"`
	ExpireAt int64             `json:"expire_at"` // unix ms; 0 = none
	Fields   map[string]string `json:"-"`
	// RawFields is Fields on disk: values are bytes (base64 in JSON), as
	// the engine's metadata is binary.
	RawFields map[string][]byte `json:"fields,omitempty"`
	Forward   *forward          `json:"forward,omitempty"`
	Members   []member          `json:"members,omitempty"` // index, oldest write first
}

// member is one entry of an index: a session's selector and deadline.
type member struct {
	M string `json:"m"`
	D int64  `json:"d"` // unix ms
}

type forward struct {
	Key, Member string
}

// Option changes a Store from its defaults.
type Option func(*Store)

// WithClock makes now the store's clock (tests; the default is time.Now).
// It stamps sessions and decides when they expire.
func WithClock(now func() time.Time) Option { return func(f *Store) { f.now = now } }

// New opens (creating it if needed) a store in dir and starts its
// sweeper. Close stops it.
func New(dir string, opts ...Option) (*Store, error) {
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, fmt.Errorf("files store: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("files store: %w", err)
	}
	f := &Store{dir: dir, data: data, sem: make(chan struct{}, 1), lock: lock, now: time.Now,
		stop: make(chan struct{}), done: make(chan struct{}), layout: session.Layout1}
	for _, o := range opts {
		o(f)
	}
	go f.sweepLoop(time.Minute)
	return f, nil
}

// Layout implements session.Backend.
func (f *Store) Layout() session.Layout { return f.layout }

// ForLayout implements session.Backend: the same folder, lock and sweeper
// (Close the Store New returned, not this one).
func (f *Store) ForLayout(l session.Layout) session.Backend {
	c := *f
	c.layout = l
	return &c
}

// Close stops the sweeper and releases the folder.
func (f *Store) Close() error {
	close(f.stop)
	<-f.done
	return f.lock.Close()
}

func (f *Store) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(f.data, hex.EncodeToString(sum[:16])+".json")
}

func indexKey(ix session.IndexRef) string {
	return ix.Key + "\x00" + hex.EncodeToString([]byte(ix.Field))
}

// Load implements session.Backend.
func (f *Store) Load(_ context.Context, key string) (session.Record, bool, error) {
	r, err := f.read(key)
	switch {
	case err != nil || r == nil:
		return nil, false, err
	case r.Forward != nil:
		return nil, false, session.ErrMoved
	case r.Fields == nil:
		return nil, false, nil
	}
	return session.Record(r.Fields), true, nil
}

// LoadMany implements session.Backend.
func (f *Store) LoadMany(ctx context.Context, keys []string) ([]session.Record, error) {
	out := make([]session.Record, len(keys))
	for i, k := range keys {
		rec, _, err := f.Load(ctx, k)
		if err != nil && !errors.Is(err, session.ErrMoved) {
			return nil, err
		}
		out[i] = rec
	}
	return out, nil
}

// Create implements session.Backend: the session and its index entry under
// one lock, the entry first.
func (f *Store) Create(ctx context.Context, key string, rec session.Record, exp session.Expiry, ix session.IndexAdd) (session.Created, error) {
	var out session.Created
	err := f.locked(ctx, func() error {
		if cur, err := f.read(key); err != nil {
			return err
		} else if cur != nil {
			return session.ErrExists
		}
		now := f.now()
		end := exp.At(now)
		fields := make(map[string]string, len(rec))
		for k, v := range rec {
			fields[k] = v
		}
		if m, ok := fields[session.MetaField]; ok && len(m) >= session.MetaStampLen {
			s := session.Stamp(now)
			fields[session.MetaField] = s + s + m[session.MetaStampLen:]
		}
		if ix.Key != "" {
			over, err := f.indexPut(ix, end, now, "")
			if err != nil {
				return err
			}
			out.Over = over
		}
		out.At = time.UnixMilli(now.UnixMilli())
		return f.write(&fileRecord{Key: key, ExpireAt: end.UnixMilli(), Fields: fields})
	})
	return out, err
}

// Apply implements session.Backend.
func (f *Store) Apply(ctx context.Context, key string, d session.Delta) (session.Applied, error) {
	var out session.Applied
	err := f.locked(ctx, func() error {
		r, err := f.read(key)
		for hops := 0; err == nil && r != nil && r.Forward != nil; hops++ {
			// Renamed by a login of the same browser after the caller
			// read it: the change goes where the session went, without
			// the touch (the rename touched it).
			if hops == session.MaxForwardHops {
				return session.ErrGone
			}
			r, err = f.read(r.Forward.Key)
			d.Touch, out.Moved = nil, true
		}
		if err != nil {
			return err
		}
		if r == nil || r.Fields == nil {
			return session.ErrGone
		}
		moved := out.Moved
		if out, err = f.applyDelta(r, d); err != nil {
			return err
		}
		out.Moved = moved
		if t := d.Touch; t != nil && t.Index.Key != "" {
			if _, err := f.indexPut(session.IndexAdd{IndexRef: t.Index, Member: t.Member}, time.UnixMilli(r.ExpireAt), out.Seen, ""); err != nil {
				return err
			}
		}
		return f.write(r)
	})
	return out, err
}

// Rename implements session.Backend, all or nothing: the new session file
// lands first, then a forward replaces the old one in one rename; if that
// fails the new file is removed again. The index's new entry goes first
// and the old one after.
func (f *Store) Rename(ctx context.Context, from, to string, d session.Delta, ix session.IndexMove) (session.Applied, error) {
	var out session.Applied
	err := f.locked(ctx, func() error {
		r, err := f.read(from)
		switch {
		case err != nil:
			return err
		case r != nil && r.Forward != nil:
			return session.ErrMoved
		case r == nil || r.Fields == nil:
			return session.ErrGone
		}
		if t, err := f.read(to); err != nil {
			return err
		} else if t != nil {
			return session.ErrExists
		}
		if d.Touch == nil {
			return errors.New("files store rename: the delta must touch the session")
		}
		if out, err = f.applyDelta(r, d); err != nil {
			return err
		}
		if ix.Add.Key != "" {
			ignore := ""
			if ix.Remove == ix.Add.IndexRef {
				ignore = ix.RemoveMember
			}
			if out.Over, err = f.indexPut(ix.Add, time.UnixMilli(r.ExpireAt), out.Seen, ignore); err != nil {
				return err
			}
		}
		r.Key = to
		if err := f.write(r); err != nil {
			return err
		}
		fwd := &fileRecord{Key: from, ExpireAt: f.now().Add(session.ForwardTTL).UnixMilli(), Forward: &forward{Key: to, Member: d.Touch.Member}}
		if err := f.write(fwd); err != nil {
			if rmErr := f.remove(to); rmErr != nil {
				// Both the old and the new session exist: say so.
				return fmt.Errorf("files store rename: %w; and undoing it failed, so the session now exists under both ids: %w", err, rmErr)
			}
			return err
		}
		if ix.Remove.Key != "" {
			// The move has happened; an entry left behind names a forward
			// and ends at its deadline.
			_ = f.indexDel(ix.Remove, ix.RemoveMember)
		}
		return nil
	})
	return out, err
}

// applyDelta applies d to the session record r in memory, by the rules
// of session.Delta.Apply, then the touch.
func (f *Store) applyDelta(r *fileRecord, d session.Delta) (session.Applied, error) {
	results, err := d.Apply(r.Fields)
	if err != nil {
		return session.Applied{}, err
	}
	out := session.Applied{Counters: results}
	if t := d.Touch; t != nil {
		now := f.now()
		if m := r.Fields[session.MetaField]; len(m) >= session.MetaStampLen {
			r.Fields[session.MetaField] = m[:session.MetaStampLen/2] + session.Stamp(now) + m[session.MetaStampLen:]
		}
		r.ExpireAt = t.At(now).UnixMilli()
		out.Seen = time.UnixMilli(now.UnixMilli())
	}
	return out, nil
}

// End implements session.Backend.
func (f *Store) End(ctx context.Context, ix session.IndexRef, targets ...session.Target) (int, error) {
	if len(targets) == 0 {
		return 0, nil
	}
	ended := 0
	err := f.locked(ctx, func() error {
		var removed []string
		for _, t := range targets {
			key, member := t.Key, t.Member
			for range 5 {
				r, err := f.read(key)
				if err != nil {
					return err
				}
				if r == nil {
					break
				}
				if r.Fields != nil {
					ended++
					removed = append(removed, member)
				}
				if err := f.remove(key); err != nil {
					return err
				}
				if r.Forward == nil {
					break
				}
				key, member = r.Forward.Key, r.Forward.Member
			}
		}
		if ix.Key != "" && len(removed) > 0 {
			return f.indexDel(ix, removed...)
		}
		return nil
	})
	return ended, err
}

// Ping implements session.Backend: the folder is there and its lock can
// be taken within ctx, so a stuck lock makes the store not ready.
func (f *Store) Ping(ctx context.Context) error {
	if _, err := os.Stat(f.data); err != nil {
		return fmt.Errorf("files store: %w", err)
	}
	return f.locked(ctx, func() error { return nil })
}
