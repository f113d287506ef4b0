package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis stores each session as one hash (one field per attribute plus the
// '@' metadata fields) with a PEXPIREAT mirroring the session's deadline,
// and each user's index as a sorted set of selectors scored by their
// absolute deadline. Every write is one Lua script, so it is atomic and one
// round trip. It works with any redis.UniversalClient: single server,
// Sentinel or Cluster (see the key layout in Manager).
type Redis struct {
	c redis.UniversalClient
}

// NewRedis returns a backend on c. The caller owns c.
func NewRedis(c redis.UniversalClient) *Redis { return &Redis{c: c} }

var _ Backend = (*Redis)(nil)

// Script results: a status number first, then data.
const (
	statusOK       = 0
	statusGone     = -1
	statusConflict = -2
	statusLimit    = -3
	statusExists   = -4
)

var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return -4 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 0
`)

// applyScript applies a Delta to KEYS[1]; with KEYS[2] it then renames the
// session to KEYS[2] (regenerate). Checks come first, so on any failure
// nothing is written.
//
// ARGV: expireAt(ms, 0 = keep), #sets, #dels, #force, #incrs, then
// sets (field, expected, value)..., dels (field, expected)...,
// force (field, value)..., incrs (field, by, max)...
var applyScript = redis.NewScript(`
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return {-1} end
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then return {-4} end
local ns, nd, nf, ni = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local conflicts = {}
local i = 6
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
i = 6
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
if KEYS[2] then
  redis.call('RENAME', key, KEYS[2])
  key = KEYS[2]
end
if ARGV[1] ~= '0' then redis.call('PEXPIREAT', key, ARGV[1]) end
return {0, unpack(results)}
`)

// indexAddScript adds a member, prunes entries past their deadline (by the
// server's clock) and keeps the index key alive as long as its last entry.
var indexAddScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if top[2] then redis.call('PEXPIREAT', KEYS[1], top[2]) end
return 0
`)

// Load implements Backend: one HGETALL.
func (r *Redis) Load(ctx context.Context, key string) (Record, bool, error) {
	m, err := r.c.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redis load: %w", err)
	}
	if len(m) == 0 {
		return nil, false, nil
	}
	return Record(m), true, nil
}

// LoadMany implements Backend: one pipeline of HGETALLs (per node on Cluster).
func (r *Redis) LoadMany(ctx context.Context, keys []string) ([]Record, error) {
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
	out := make([]Record, len(keys))
	for i, c := range cmds {
		if m := c.Val(); len(m) > 0 {
			out[i] = Record(m)
		}
	}
	return out, nil
}

// Create implements Backend.
func (r *Redis) Create(ctx context.Context, key string, rec Record, expireAt time.Time) error {
	args := make([]any, 0, 1+2*len(rec))
	args = append(args, expireAt.UnixMilli())
	for f, v := range rec {
		args = append(args, f, v)
	}
	n, err := createScript.Run(ctx, r.c, []string{key}, args...).Int()
	if err != nil {
		return fmt.Errorf("redis create: %w", err)
	}
	if n == statusExists {
		return ErrExists
	}
	return nil
}

// Apply implements Backend.
func (r *Redis) Apply(ctx context.Context, key string, d Delta) ([]int64, error) {
	return r.apply(ctx, []string{key}, d)
}

// Rename implements Backend. from and to must share a hash slot.
func (r *Redis) Rename(ctx context.Context, from, to string, d Delta) ([]int64, error) {
	return r.apply(ctx, []string{from, to}, d)
}

func (r *Redis) apply(ctx context.Context, keys []string, d Delta) ([]int64, error) {
	var exp int64
	if !d.ExpireAt.IsZero() {
		exp = d.ExpireAt.UnixMilli()
	}
	args := make([]any, 0, 5+3*len(d.Sets)+2*len(d.Dels)+2*len(d.Force)+3*len(d.Incrs))
	args = append(args, exp, len(d.Sets), len(d.Dels), len(d.Force), len(d.Incrs))
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
	res, err := applyScript.Run(ctx, r.c, keys, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("redis apply: %w", err)
	}
	return scriptResult(res)
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
		return nil, ErrGone
	case statusExists:
		return nil, ErrExists
	case statusLimit:
		return nil, ErrLimit
	case statusConflict:
		fields := make([]string, 0, len(res)-1)
		for _, v := range res[1:] {
			fields = append(fields, fmt.Sprint(v))
		}
		return nil, &ConflictError{Fields: fields}
	}
	return nil, fmt.Errorf("redis apply: unexpected status %v", res[0])
}

// Delete implements Backend. Keys may be in different slots, so each is
// its own command, sent in one pipeline.
func (r *Redis) Delete(ctx context.Context, keys ...string) error {
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

// IndexAdd implements Backend.
func (r *Redis) IndexAdd(ctx context.Context, index, member string, deadline time.Time) error {
	if err := indexAddScript.Run(ctx, r.c, []string{index}, member, deadline.UnixMilli()).Err(); err != nil {
		return fmt.Errorf("redis index add: %w", err)
	}
	return nil
}

// IndexRemove implements Backend.
func (r *Redis) IndexRemove(ctx context.Context, index string, members ...string) error {
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

// IndexList implements Backend.
func (r *Redis) IndexList(ctx context.Context, index string) ([]IndexEntry, error) {
	zs, err := r.c.ZRangeByScoreWithScores(ctx, index, &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(time.Now().UnixMilli(), 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("redis index list: %w", err)
	}
	out := make([]IndexEntry, 0, len(zs))
	for _, z := range zs {
		m, _ := z.Member.(string)
		out = append(out, IndexEntry{Member: m, Deadline: time.UnixMilli(int64(z.Score))})
	}
	return out, nil
}

// Ping implements Backend.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}
