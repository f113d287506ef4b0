// Package redisstore is the session engine's Redis backend, on any
// go-redis UniversalClient: one server, Sentinel or Cluster.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/session"
)

// Store stores each session as one hash (one field per attribute plus the
// '@' metadata fields) with a PEXPIREAT mirroring the session's deadline,
// and each user's index as a sorted set of selectors scored by their
// absolute deadline. Every write is one Lua script, so it is atomic and one
// round trip; on one server (or a Sentinel master) a login's session write
// and index changes are one script too. It works with any
// redis.UniversalClient: single server, Sentinel or Cluster.
type Store struct {
	c       redis.UniversalClient
	cluster bool        // the index is in another slot: no multi-key scripts
	wait    *waitPolicy // WithWait: replica acknowledgement of logins and logouts
}

// New returns a backend on c. The caller owns c.
func New(c redis.UniversalClient) *Store {
	_, cluster := c.(*redis.ClusterClient)
	return &Store{c: c, cluster: cluster}
}

var _ session.Backend = (*Store)(nil)

// Script results: a status number first, then data.
const (
	statusOK       = 0
	statusGone     = -1
	statusConflict = -2
	statusLimit    = -3
	statusExists   = -4
)

// luaIndexAdd adds a member to an index and keeps the index key alive as
// long as its latest deadline (GT; NX for a fresh key). Entries past their
// deadline (by the server's clock) are pruned once the index holds more
// than a few, so it stays bounded without the prune's cost on most logins;
// listing prunes too, and the key expires with its last entry.
const luaIndexAdd = `
local function index_add(key, member, deadline)
  redis.call('ZADD', key, deadline, member)
  if redis.call('PEXPIREAT', key, deadline, 'GT') == 0 then
    redis.call('PEXPIREAT', key, deadline, 'NX')
  end
  if redis.call('ZCARD', key) > 8 then
    local t = redis.call('TIME')
    redis.call('ZREMRANGEBYSCORE', key, '-inf', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
  end
end
`

// createScript: KEYS[1] session, KEYS[2] index when ARGV[2] is not empty.
// ARGV: expireAt, index member, index deadline, then field, value pairs.
var createScript = redis.NewScript(luaIndexAdd + `
if redis.call('EXISTS', KEYS[1]) == 1 then return -4 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then index_add(KEYS[2], ARGV[2], ARGV[3]) end
return 0
`)

// applyScript applies a session.Delta to KEYS[1]; with rename it then moves the
// session to KEYS[2] (regenerate). Checks come first, so on any failure
// nothing is written. Index changes follow the session's keys in KEYS.
//
// ARGV: expireAt(ms, 0 = keep), #sets, #dels, #force, #incrs, rename(0/1),
// add member, add deadline, remove member, then sets (field, expected,
// value)..., dels (field, expected)..., force (field, value)..., incrs
// (field, by, max)...
var applyScript = redis.NewScript(luaIndexAdd + `
local key = KEYS[1]
local rename = ARGV[6] == '1'
if redis.call('EXISTS', key) == 0 then return {-1} end
if rename and redis.call('EXISTS', KEYS[2]) == 1 then return {-4} end
local ns, nd, nf, ni = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local first = 10
local conflicts = {}
local i = first
for _ = 1, ns do
  local cur = redis.call('HGET', key, ARGV[i]) or ''
  if cur ~= ARGV[i+1] and cur ~= ARGV[i+2] then conflicts[#conflicts+1] = ARGV[i] end
  i = i + 3
end
for _ = 1, nd do
  local cur = redis.call('HGET', key, ARGV[i])
  if cur and cur ~= ARGV[i+1] then conflicts[#conflicts+1] = ARGV[i] end
  i = i + 2
end
if #conflicts > 0 then return {-2, unpack(conflicts)} end
local ii = i + 2 * nf
local results = {}
for j = 1, ni do
  local n = (tonumber(redis.call('HGET', key, ARGV[ii]) or '0') or 0) + tonumber(ARGV[ii+1])
  local max = tonumber(ARGV[ii+2])
  if max > 0 and n > max then return {-3, ARGV[ii]} end
  results[j] = n
  ii = ii + 3
end
local hset, hdel = {}, {}
i = first
for _ = 1, ns do hset[#hset+1] = ARGV[i]; hset[#hset+1] = ARGV[i+2]; i = i + 3 end
for _ = 1, nd do hdel[#hdel+1] = ARGV[i]; i = i + 2 end
for _ = 1, nf do
  if ARGV[i+1] == '' then hdel[#hdel+1] = ARGV[i] else hset[#hset+1] = ARGV[i]; hset[#hset+1] = ARGV[i+1] end
  i = i + 2
end
for j = 1, ni do
  if results[j] > 0 then hset[#hset+1] = ARGV[i]; hset[#hset+1] = tostring(results[j]) else hdel[#hdel+1] = ARGV[i] end
  i = i + 3
end
if #hdel > 0 then redis.call('HDEL', key, unpack(hdel)) end
if #hset > 0 then redis.call('HSET', key, unpack(hset)) end
local k = 2
if rename then
  redis.call('RENAME', key, KEYS[2])
  key = KEYS[2]
  k = 3
end
if ARGV[1] ~= '0' then redis.call('PEXPIREAT', key, ARGV[1]) end
if ARGV[7] ~= '' then index_add(KEYS[k], ARGV[7], ARGV[8]); k = k + 1 end
if ARGV[9] ~= '' then redis.call('ZREM', KEYS[k], ARGV[9]) end
return {0, unpack(results)}
`)

var indexAddScript = redis.NewScript(luaIndexAdd + `
index_add(KEYS[1], ARGV[1], ARGV[2])
return 0
`)

// Load implements session.Backend: one HGETALL.
func (r *Store) Load(ctx context.Context, key string) (session.Record, bool, error) {
	m, err := r.c.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redis load: %w", err)
	}
	if len(m) == 0 {
		return nil, false, nil
	}
	return session.Record(m), true, nil
}

// LoadMany implements session.Backend: one pipeline of HGETALLs (per node on Cluster).
func (r *Store) LoadMany(ctx context.Context, keys []string) ([]session.Record, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(keys))
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HGetAll(ctx, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis load many: %w", err)
	}
	out := make([]session.Record, len(keys))
	for i, c := range cmds {
		if m := c.Val(); len(m) > 0 {
			out[i] = session.Record(m)
		}
	}
	return out, nil
}

// Create implements session.Backend.
func (r *Store) Create(ctx context.Context, key string, rec session.Record, expireAt time.Time, ix session.IndexOps) error {
	keys := []string{key}
	args := make([]any, 0, 3+2*len(rec))
	args = append(args, expireAt.UnixMilli())
	if ix.AddMember != "" && !r.cluster {
		keys = append(keys, ix.AddIndex)
		args = append(args, ix.AddMember, ix.AddDeadline.UnixMilli())
	} else {
		args = append(args, "", 0)
	}
	for f, v := range rec {
		args = append(args, f, v)
	}
	if ix.AddMember != "" && r.cluster {
		if err := r.IndexAdd(ctx, ix.AddIndex, ix.AddMember, ix.AddDeadline); err != nil {
			return err
		}
	}
	res, err := r.run(ctx, createScript, keys, args, true)
	if err != nil {
		return fmt.Errorf("redis create: %w", err)
	}
	if n, _ := res.(int64); n == statusExists {
		return session.ErrExists
	}
	return nil
}

// Apply implements session.Backend. Data changes are never waited for.
func (r *Store) Apply(ctx context.Context, key string, d session.Delta) ([]int64, error) {
	return r.apply(ctx, key, "", d, session.IndexOps{})
}

// Rename implements session.Backend. from and to must share a hash slot.
func (r *Store) Rename(ctx context.Context, from, to string, d session.Delta, ix session.IndexOps) ([]int64, error) {
	return r.apply(ctx, from, to, d, ix)
}

func (r *Store) apply(ctx context.Context, key, to string, d session.Delta, ix session.IndexOps) ([]int64, error) {
	var exp int64
	if !d.ExpireAt.IsZero() {
		exp = d.ExpireAt.UnixMilli()
	}
	keys := []string{key}
	rename := "0"
	if to != "" {
		keys, rename = append(keys, to), "1"
	}
	args := make([]any, 0, 9+3*len(d.Sets)+2*len(d.Dels)+2*len(d.Force)+3*len(d.Incrs))
	args = append(args, exp, len(d.Sets), len(d.Dels), len(d.Force), len(d.Incrs), rename)
	inScript := !r.cluster
	if ix.AddMember != "" && inScript {
		keys = append(keys, ix.AddIndex)
		args = append(args, ix.AddMember, ix.AddDeadline.UnixMilli())
	} else {
		args = append(args, "", 0)
	}
	if ix.RemoveMember != "" && inScript {
		keys = append(keys, ix.RemoveIndex)
		args = append(args, ix.RemoveMember)
	} else {
		args = append(args, "")
	}
	for _, f := range d.Sets {
		args = append(args, f.Field, f.Expected, f.Value)
	}
	for _, f := range d.Dels {
		args = append(args, f.Field, f.Expected)
	}
	for _, f := range d.Force {
		args = append(args, f.Field, f.Value)
	}
	for _, f := range d.Incrs {
		args = append(args, f.Field, f.By, f.Max)
	}
	if ix.AddMember != "" && !inScript {
		if err := r.IndexAdd(ctx, ix.AddIndex, ix.AddMember, ix.AddDeadline); err != nil {
			return nil, err
		}
	}
	res, err := r.run(ctx, applyScript, keys, args, to != "")
	if err != nil {
		return nil, fmt.Errorf("redis apply: %w", err)
	}
	list, _ := res.([]any)
	out, err := scriptResult(list)
	if err == nil && ix.RemoveMember != "" && !inScript {
		// Best effort (see session.IndexOps): the session write has happened.
		_ = r.IndexRemove(ctx, ix.RemoveIndex, ix.RemoveMember)
	}
	return out, err
}

// run runs a script; with waited and WithWait, in one pipeline with WAIT.
func (r *Store) run(ctx context.Context, s *redis.Script, keys []string, args []any, waited bool) (any, error) {
	if waited && r.wait != nil {
		return r.runWait(ctx, s, keys, args)
	}
	return s.Run(ctx, r.c, keys, args...).Result()
}

func scriptResult(res []any) ([]int64, error) {
	if len(res) == 0 {
		return nil, errors.New("redis apply: empty reply")
	}
	status, _ := res[0].(int64)
	switch status {
	case statusOK:
		out := make([]int64, 0, len(res)-1)
		for _, v := range res[1:] {
			n, _ := v.(int64)
			out = append(out, n)
		}
		return out, nil
	case statusGone:
		return nil, session.ErrGone
	case statusExists:
		return nil, session.ErrExists
	case statusLimit:
		return nil, session.ErrLimit
	case statusConflict:
		fields := make([]string, 0, len(res)-1)
		for _, v := range res[1:] {
			fields = append(fields, fmt.Sprint(v))
		}
		return nil, &session.ConflictError{Fields: fields}
	}
	return nil, fmt.Errorf("redis apply: unexpected status %v", res[0])
}

// Delete implements session.Backend. Keys may be in different slots, so each is
// its own command, sent in one pipeline.
func (r *Store) Delete(ctx context.Context, keys ...string) error {
	if r.wait != nil {
		return r.deleteWait(ctx, keys)
	}
	var err error
	switch len(keys) {
	case 0:
		return nil
	case 1:
		err = r.c.Unlink(ctx, keys[0]).Err()
	default:
		_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Unlink(ctx, k)
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("redis delete: %w", err)
	}
	return nil
}

// IndexAdd implements session.Backend.
func (r *Store) IndexAdd(ctx context.Context, index, member string, deadline time.Time) error {
	// Waited only on Cluster: on one node, the session write that follows on
	// the same replication stream is waited for and covers it.
	if _, err := r.run(ctx, indexAddScript, []string{index}, []any{member, deadline.UnixMilli()}, r.cluster); err != nil {
		return fmt.Errorf("redis index add: %w", err)
	}
	return nil
}

// IndexRemove implements session.Backend.
func (r *Store) IndexRemove(ctx context.Context, index string, members ...string) error {
	if len(members) == 0 {
		return nil
	}
	args := make([]any, len(members))
	for i, m := range members {
		args[i] = m
	}
	if err := r.c.ZRem(ctx, index, args...).Err(); err != nil {
		return fmt.Errorf("redis index remove: %w", err)
	}
	return nil
}

// IndexList implements session.Backend.
func (r *Store) IndexList(ctx context.Context, index string) ([]session.IndexEntry, error) {
	zs, err := r.c.ZRangeByScoreWithScores(ctx, index, &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(time.Now().UnixMilli(), 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("redis index list: %w", err)
	}
	out := make([]session.IndexEntry, 0, len(zs))
	for _, z := range zs {
		m, _ := z.Member.(string)
		out = append(out, session.IndexEntry{Member: m, Deadline: time.UnixMilli(int64(z.Score))})
	}
	return out, nil
}

// Ping implements session.Backend.
func (r *Store) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}
