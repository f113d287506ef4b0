// Package ratelimit limits login attempts per client. With Redis the count
// is shared by every replica (GCRA in one Lua script of ours, one round
// trip, under the service's key prefix); with the filesystem store (one
// process) it is kept in memory. Both follow the same rule.
package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Decision is the answer for one attempt.
type Decision struct {
	Allowed bool
	// RetryAfter is how long until the next attempt would be allowed
	// (zero when Allowed).
	RetryAfter time.Duration
}

// Limiter decides whether one more attempt by key is allowed now.
type Limiter interface {
	Allow(ctx context.Context, key string) (Decision, error)
}

// Off allows everything (LOGIN_RATE_LIMIT=0).
type Off struct{}

// Allow implements Limiter.
func (Off) Allow(context.Context, string) (Decision, error) { return Decision{Allowed: true}, nil }

// Local is an in-process limiter (one replica), with the same GCRA rule:
// an attempt is allowed when the key's theoretical arrival time is at most
// one period ahead of now.
type Local struct {
	mu       sync.Mutex
	interval time.Duration // period / rate
	period   time.Duration
	tat      map[string]time.Time
	now      func() time.Time
	maxKeys  int
}

// NewLocal allows perMinute attempts per key and minute, remembering at
// most 100,000 keys (old ones are dropped first).
func NewLocal(perMinute int) *Local {
	return &Local{
		interval: time.Minute / time.Duration(perMinute),
		period:   time.Minute,
		tat:      map[string]time.Time{},
		now:      time.Now,
		maxKeys:  100_000,
	}
}

// Allow implements Limiter.
func (l *Local) Allow(_ context.Context, key string) (Decision, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	tat := l.tat[key]
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(l.interval)
	if wait := next.Sub(now) - l.period; wait > 0 {
		return Decision{RetryAfter: wait}, nil
	}
	if len(l.tat) >= l.maxKeys {
		l.evict(now)
	}
	l.tat[key] = next
	return Decision{Allowed: true}, nil
}

// evict drops keys whose budget is full again, or half of all if none is.
func (l *Local) evict(now time.Time) {
	for k, t := range l.tat {
		if !t.After(now) {
			delete(l.tat, k)
		}
	}
	for k := range l.tat {
		if len(l.tat) < l.maxKeys/2 {
			break
		}
		delete(l.tat, k)
	}
}
