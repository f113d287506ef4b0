package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript decides one attempt and records it, in one round trip, with
// Redis' own clock so that replicas whose clocks differ agree. The key
// holds the theoretical arrival time (TAT) in microseconds; an attempt is
// allowed when TAT+interval is at most one period ahead of now. It expires
// when the budget is full again, so idle clients leave nothing behind.
//
// KEYS[1] the client's key; ARGV[1] interval, ARGV[2] period (µs).
// Returns {1, 0} when allowed, {0, µs until the next attempt} when not.
// Integers only: Redis converts Lua numbers to integers on return, and
// TIME in µs (about 1.8e15) is exact in a double.
var gcraScript = redis.NewScript(`
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end
local next = tat + interval
local wait = next - now - period
if wait > 0 then
  return {0, wait}
end
redis.call('SET', KEYS[1], next, 'PX', math.ceil((next - now) / 1000))
return {1, 0}
`)

// Redis is a limiter shared by all replicas using one Redis (or Cluster:
// one key per client, so any slot will do).
type Redis struct {
	c        redis.UniversalClient
	prefix   string
	interval time.Duration
	period   time.Duration
}

// NewRedis allows perMinute attempts per key and minute (bursts up to
// perMinute), counted in c under the keys prefix+key: the prefix is all
// the namespace there is, so a Redis user limited to the service's key
// prefix (ACL ~prefix*) may run it.
func NewRedis(c redis.UniversalClient, prefix string, perMinute int) *Redis {
	return &Redis{c: c, prefix: prefix, interval: time.Minute / time.Duration(perMinute), period: time.Minute}
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string) (Decision, error) {
	res, err := gcraScript.Run(ctx, r.c, []string{r.prefix + key},
		r.interval.Microseconds(), r.period.Microseconds()).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: %w", err)
	}
	if len(res) != 2 {
		return Decision{}, fmt.Errorf("ratelimit: script answered %v", res)
	}
	if res[0] == 1 {
		return Decision{Allowed: true}, nil
	}
	return Decision{RetryAfter: time.Duration(res[1]) * time.Microsecond}, nil
}
