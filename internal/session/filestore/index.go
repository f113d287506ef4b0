package filestore

import (
	"context"
	"sort"
	"time"

	"github.com/sessiond/sessiond/internal/session"
)

// Index implements session.Backend.
func (f *Store) Index(_ context.Context, ix session.IndexRef) ([]session.IndexEntry, error) {
	r, err := f.read(indexKey(ix))
	if err != nil || r == nil {
		return nil, err
	}
	out := make([]session.IndexEntry, 0, len(r.Members))
	for _, m := range r.Members {
		out = append(out, session.IndexEntry{Member: m.M, Deadline: time.UnixMilli(m.D)})
	}
	return out, nil
}

// IndexRemove implements session.Backend.
func (f *Store) IndexRemove(ctx context.Context, ix session.IndexRef, members ...string) error {
	return f.locked(ctx, func() error { return f.indexDel(ix, members...) })
}

// indexPut sets member's deadline to the session's end (moving its entry
// last), prunes passed entries and reports the members beyond ix.Max:
// closest to their deadline first, and among equal deadlines the one
// written longest ago; ignore does not count. Holds the lock.
func (f *Store) indexPut(ix session.IndexAdd, end, now time.Time, ignore string) ([]string, error) {
	key := indexKey(ix.IndexRef)
	r, err := f.read(key)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = &fileRecord{Key: key}
	}
	kept := r.Members[:0]
	var counted []member
	r.ExpireAt = end.UnixMilli()
	for _, m := range r.Members {
		if m.M == ix.Member || m.D < now.UnixMilli() {
			continue
		}
		kept = append(kept, m)
		r.ExpireAt = max(r.ExpireAt, m.D)
		if m.M != ignore {
			counted = append(counted, m)
		}
	}
	r.Members = append(kept, member{M: ix.Member, D: end.UnixMilli()})
	if err := f.write(r); err != nil {
		return nil, err
	}
	n := len(counted) + 1 - ix.Max
	if ix.Max <= 0 || n <= 0 {
		return nil, nil
	}
	sort.SliceStable(counted, func(i, j int) bool { return counted[i].D < counted[j].D })
	over := make([]string, n)
	for i := range over {
		over[i] = counted[i].M
	}
	return over, nil
}

// indexDel removes members from an index. Holds the lock.
func (f *Store) indexDel(ix session.IndexRef, members ...string) error {
	key := indexKey(ix)
	r, err := f.read(key)
	if err != nil || r == nil {
		return err
	}
	drop := map[string]bool{}
	for _, m := range members {
		drop[m] = true
	}
	kept := r.Members[:0]
	for _, m := range r.Members {
		if !drop[m.M] {
			kept = append(kept, m)
		}
	}
	switch {
	case len(kept) == len(r.Members):
		return nil
	case len(kept) == 0:
		return f.remove(key)
	default:
		r.Members = kept
		return f.write(r)
	}
}
