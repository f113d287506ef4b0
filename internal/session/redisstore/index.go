package redisstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/session"
)

// Index implements session.Backend: one HGET. A key of another type, or
// a value without the layout's marker, is no index.
func (r *Store) Index(ctx context.Context, ix session.IndexRef) ([]session.IndexEntry, error) {
	v, err := r.c.HGet(ctx, ix.Key, ix.Field).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case wrongType(err):
		r.foreign("index", "type")
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("redis index: %w", err)
	case !strings.HasPrefix(v, r.marker):
		r.foreign("index", "format")
		return nil, nil
	}
	return parseEntries(v[len(r.marker):]), nil
}

// parseEntries decodes an index field: 16-byte entries, the member (12
// raw bytes) and its deadline in unix seconds (4 bytes, big-endian).
func parseEntries(v string) []session.IndexEntry {
	out := make([]session.IndexEntry, 0, len(v)/16)
	for i := 0; i+16 <= len(v); i += 16 {
		dl := binary.BigEndian.Uint32([]byte(v[i+12 : i+16]))
		out = append(out, session.IndexEntry{Member: selector(v[i : i+12]), Deadline: time.Unix(int64(dl), 0)})
	}
	return out
}

// IndexRemove implements session.Backend.
func (r *Store) IndexRemove(ctx context.Context, ix session.IndexRef, members ...string) error {
	raws := make([]string, len(members))
	for i, m := range members {
		raws[i] = rawMember(m)
	}
	return r.ixDel(ctx, ix, raws)
}

// ixDel removes raw members from an index.
func (r *Store) ixDel(ctx context.Context, ix session.IndexRef, raws []string) error {
	if len(raws) == 0 {
		return nil
	}
	args := make([]any, 0, 2+len(raws))
	args = append(args, r.marker, ix.Field)
	for _, m := range raws {
		args = append(args, m)
	}
	if _, err := r.script(ctx, ixDelScript, []string{ix.Key}, args, false); err != nil {
		return fmt.Errorf("redis index remove: %w", err)
	}
	return nil
}

// ixPut adds or moves an index entry on its own (Cluster), its deadline
// from exp by the index node's clock plus the tolerated skew, dropping
// the member drop ("" for none) in the same write; onlyMove never adds
// an entry that is not there (a touch). It returns the members beyond
// ix.Max.
func (r *Store) ixPut(ctx context.Context, ix session.IndexAdd, exp session.Expiry, drop string, onlyMove bool) ([]string, error) {
	move := 0
	if onlyMove {
		move = 1
	}
	args := []any{r.marker, ix.Field, rawMember(ix.Member), ms(exp.Idle), unixMs(exp.Deadline), ms(exp.Lifetime), ms(exp.Skew),
		ix.Max, rawMember(drop), move}
	// Waited (with WithWait): the login's entry must survive a failover.
	list, err := r.script(ctx, ixPutScript, []string{ix.Key}, args, !onlyMove)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	return selectors(replyStrings(list, 2)), nil
}
