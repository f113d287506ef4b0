package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript decides one attempt and records it, in one round trip, with
// Redis' own clock so that replicas whose clocks differ agree. The key
// holds the theoretical arrival time (TAT) in microseconds, after the
// version marker of the layout that wrote it; an attempt is allowed when
// TAT+interval is at most one period ahead of now. It expires when the
// budget is full again, so idle clients leave nothing behind. A value the
// limiter did not write (another type, another marker, not a number) is
// no TAT: a fresh budget, and the value is replaced.
//
// Integers only: Redis converts Lua numbers to integers on return, and
// TIME in µs (about 1.8e15) is exact in a double.
var gcraScript = redis.NewScript(`
local key = KEYS[1]
local interval = tonumber(ARGV[1]) -- µs between attempts
local period = tonumber(ARGV[2])   -- µs: the burst is period / interval
local marker = ARGV[3]             -- the layout's marker before the TAT

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat, foreign = now, ''
local v = redis.pcall('GET', key)
if type(v) == 'table' then
  foreign = 't'
elseif v then
  local n = nil
  if string.sub(v, 1, #marker) == marker then n = tonumber(string.sub(v, #marker + 1)) end
  if n then tat = math.max(n, now) else foreign = 'f' end
end
local next = tat + interval
local wait = next - now - period
-- reply: 1 allowed or 0 refused, µs until the next attempt may pass,
-- and what was foreign ('' nothing, 't' another type, 'f' another value)
if wait > 0 then
  return {0, wait, foreign}
end
redis.call('SET', key, marker .. string.format('%.0f', next), 'PX', math.ceil((next - now) / 1000))
return {1, 0, foreign}
`)

// Redis is a limiter shared by all replicas using one Redis (or Cluster:
// one key per client, so any slot will do).
type Redis struct {
	c        redis.UniversalClient
	prefix   string
	marker   string
	interval time.Duration
	period   time.Duration
	foreign  func(reason string)
}

// RedisOption changes a Redis limiter from its defaults.
type RedisOption func(*Redis)

// Marker puts m before every value (a layout's version; "" by default).
func Marker(m string) RedisOption { return func(r *Redis) { r.marker = m } }

// OnForeign has fn told of every value under the limiter's keys that it
// did not write ("type": another type, "format": another value); the
// limiter takes it for a fresh budget.
func OnForeign(fn func(reason string)) RedisOption { return func(r *Redis) { r.foreign = fn } }

// NewRedis allows perMinute attempts per key and minute (bursts up to
// perMinute), counted in c under the keys prefix+key: the prefix is all
// the namespace there is, so a Redis user limited to the service's key
// prefix (ACL ~prefix*) may run it.
func NewRedis(c redis.UniversalClient, prefix string, perMinute int, opts ...RedisOption) *Redis {
	r := &Redis{c: c, prefix: prefix, interval: time.Minute / time.Duration(perMinute), period: time.Minute,
		foreign: func(string) {}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string) (Decision, error) {
	res, err := gcraScript.Run(ctx, r.c, []string{r.prefix + key},
		r.interval.Microseconds(), r.period.Microseconds(), r.marker).Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: %w", err)
	}
	if len(res) != 3 {
		return Decision{}, fmt.Errorf("ratelimit: script answered %v", res)
	}
	allowed, _ := res[0].(int64)
	wait, _ := res[1].(int64)
	switch res[2] {
	case "t":
		r.foreign("type")
	case "f":
		r.foreign("format")
	}
	if allowed == 1 {
		return Decision{Allowed: true}, nil
	}
	return Decision{RetryAfter: time.Duration(wait) * time.Microsecond}, nil
}
