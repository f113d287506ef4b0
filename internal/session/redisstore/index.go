package redisstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/session"
)

// Index implements session.Backend: one HGET.
func (r *Store) Index(ctx context.Context, ix session.IndexRef) ([]session.IndexEntry, error) {
	v, err := r.c.HGet(ctx, ix.Key, ix.Field).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redis index: %w", err)
	}
	return parseEntries(v), nil
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
	args := make([]any, 0, 1+len(raws))
	args = append(args, ix.Field)
	for _, m := range raws {
		args = append(args, m)
	}
	if _, err := ixDelScript.Run(ctx, r.c, []string{ix.Key}, args...).Result(); err != nil {
		return fmt.Errorf("redis index remove: %w", err)
	}
	return nil
}

// ixPut adds or moves an index entry on its own (Cluster), its deadline
// from exp by the index node's clock plus the tolerated skew. It returns
// the members beyond ix.Max.
func (r *Store) ixPut(ctx context.Context, ix session.IndexAdd, exp session.Expiry, ignore string) ([]string, error) {
	args := []any{ix.Field, rawMember(ix.Member), ms(exp.Idle), unixMs(exp.Deadline), ms(exp.Lifetime), ms(exp.Skew), ix.Max, rawMember(ignore)}
	// Waited (with WithWait): the login's entry must survive a failover.
	res, err := r.run(ctx, ixPutScript, []string{ix.Key}, args, true)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	list, _ := res.([]any)
	return selectors(replyStrings(list, 0)), nil
}
