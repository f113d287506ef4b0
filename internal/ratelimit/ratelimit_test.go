package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessiond/sessiond/internal/redistest"
)

// Two replicas (two clients) on one real Redis share one budget.
func TestRedisLimitIsSharedByReplicas(t *testing.T) {
	srv := redistest.Start(t)
	prefix := redistest.Prefix(t)
	a := NewRedis(srv.Client(t), prefix, 6)
	b := NewRedis(redis.NewClient(&redis.Options{Addr: srv.Addr}), prefix, 6)
	ctx := context.Background()
	allowed := 0
	for i := range 12 {
		l := a
		if i%2 == 1 {
			l = b
		}
		d, err := l.Allow(ctx, "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		} else if d.RetryAfter <= 0 || d.RetryAfter > time.Minute {
			t.Errorf("refused with Retry-After %v", d.RetryAfter)
		}
	}
	if allowed != 6 {
		t.Errorf("allowed %d of 12 attempts across two replicas, want 6", allowed)
	}
	if d, _ := a.Allow(ctx, "10.0.0.2"); !d.Allowed {
		t.Error("another client was limited too")
	}
}

func TestRedisDownIsAnError(t *testing.T) {
	srv := redistest.Start(t)
	l := NewRedis(srv.Client(t), redistest.Prefix(t), 5)
	srv.Stop()
	if _, err := l.Allow(context.Background(), "x"); err == nil {
		t.Fatal("no error with Redis down")
	}
}

func TestLocal(t *testing.T) {
	l := NewLocal(3)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	ctx := context.Background()
	for i := range 3 {
		if d, _ := l.Allow(ctx, "ip"); !d.Allowed {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	d, _ := l.Allow(ctx, "ip")
	if d.Allowed || d.RetryAfter != 20*time.Second {
		t.Fatalf("4th attempt: %+v, want refused for 20s", d)
	}
	now = now.Add(20 * time.Second)
	if d, _ := l.Allow(ctx, "ip"); !d.Allowed {
		t.Fatal("not allowed again after Retry-After")
	}
	l.maxKeys = 10
	for i := range 50 {
		l.Allow(ctx, string(rune('a'+i)))
	}
	if len(l.tat) > 10 {
		t.Errorf("remembers %d keys, bound is 10", len(l.tat))
	}
}

// TestRedisKeysCarryThePrefixOnly: the limiter writes prefix+key and
// nothing else, so a Redis user allowed only the service's prefix
// (ACL ~app1:*, as shared and managed Redis are run) can use it.
func TestRedisKeysCarryThePrefixOnly(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.Client(t)
	ctx := context.Background()
	if err := admin.Do(ctx, "ACL", "SETUSER", "app1", "reset", "on", ">pw", "~app1:*", "resetchannels", "+@all", "-@dangerous").Err(); err != nil {
		t.Fatal(err)
	}
	user := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "app1", Password: "pw"})
	t.Cleanup(func() { user.Close() })
	l := NewRedis(user, "app1:login:", 3)
	for i := range 4 {
		d, err := l.Allow(ctx, "192.0.2.7")
		if err != nil {
			t.Fatalf("attempt %d as the prefix-limited user: %v", i+1, err)
		}
		if d.Allowed != (i < 3) {
			t.Errorf("attempt %d allowed=%v, want %v", i+1, d.Allowed, i < 3)
		}
	}
	keys, err := admin.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "app1:login:192.0.2.7" {
		t.Errorf("keys = %q, want only app1:login:192.0.2.7", keys)
	}
	// The key lasts until the budget is full again (3 attempts at 20s
	// each: 60s), not longer.
	if ttl := admin.PTTL(ctx, "app1:login:192.0.2.7").Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("limiter key TTL = %v, want (0, 1m]", ttl)
	}
}

// TestRedisRetryAfterAndRoundTrips: a refused attempt says how long until
// the next one is allowed (one interval after the burst), and each
// attempt costs one round trip to Redis once the script is loaded.
func TestRedisRetryAfterAndRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	calls := &redistest.RoundTrips{}
	c.AddHook(calls)
	l := NewRedis(c, redistest.Prefix(t), 6) // one every 10s, bursts of 6
	ctx := context.Background()
	if _, err := l.Allow(ctx, "warm-up"); err != nil { // loads the script
		t.Fatal(err)
	}
	calls.Reset()
	start := time.Now()
	var last Decision
	for i := range 7 {
		d, err := l.Allow(ctx, "198.51.100.1")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != (i < 6) {
			t.Fatalf("attempt %d allowed=%v, want %v", i+1, d.Allowed, i < 6)
		}
		last = d
	}
	if n := calls.N(); n != 7 {
		t.Errorf("7 attempts took %d round trips, want 7", n)
	}
	// Refused at the 7th: the 7th is allowed 10s after the first, less the
	// time the attempts took.
	if lo := 10*time.Second - time.Since(start); last.RetryAfter < lo || last.RetryAfter > 10*time.Second {
		t.Errorf("Retry-After = %v, want in [%v, 10s]", last.RetryAfter, lo)
	}
}

// A key of another type, or a value the limiter did not write, under a
// limiter key is treated as absent (a fresh budget) and replaced: it
// never turns every login of that client into a 503.
func TestRedisForeignValuesAreAbsent(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx := context.Background()
	prefix := redistest.Prefix(t)
	l := NewRedis(c, prefix, 3)
	if err := c.HSet(ctx, prefix+"10.0.0.1", "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, prefix+"10.0.0.2", "not a number", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, client := range []string{"10.0.0.1", "10.0.0.2"} {
		allowed := 0
		for range 5 {
			d, err := l.Allow(ctx, client)
			if err != nil {
				t.Fatalf("%s: a foreign value under the limiter's key: %v", client, err)
			}
			if d.Allowed {
				allowed++
			}
		}
		if allowed != 3 {
			t.Errorf("%s: allowed %d of 5 attempts, want 3 (a fresh budget)", client, allowed)
		}
	}
}
