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
