package redisstore

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/redistest"
)

// BenchmarkReadParallel weighs go-redis' experimental AutoPipeliner for the
// read path: 32 goroutines each loading a session hash (HGETALL), through
// the plain client and through the AutoPipeliner. (Writes are out of the
// question for it: a batch that fails on a network error is retried whole,
// so an increment could be applied twice, and per-command deadlines are not
// honoured once queued.)
func BenchmarkReadParallel(b *testing.B) {
	srv := redistest.Start(b)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 32})
	b.Cleanup(func() { c.Close() })
	ctx := context.Background()
	key := "s:{AAAA}bench0000000"
	c.HSet(ctx, key, "@c", "1795647554250", "@t", "1795647554250", "@u", "ann", "@h", "x_gknT6CRuioa6ed", "@d", "Chrome on Linux", "theme", `"dark"`, "cart:apple", "3")
	ap, err := c.AutoPipeline()
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		get  func() error
	}{
		{"plain", func() error { return c.HGetAll(ctx, key).Err() }},
		{"autopipeline", func() error { return ap.HGetAll(ctx, key).Err() }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetParallelism(16)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := tc.get(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
