package redisstore

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

func zzCPU2(c *redis.Client) float64 {
	info := c.Info(context.Background(), "cpu").Val()
	var sum float64
	for _, l := range strings.Split(info, "\r\n") {
		for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if strings.HasPrefix(l, k) {
				v, _ := strconv.ParseFloat(strings.TrimPrefix(l, k), 64)
				sum += v
			}
		}
	}
	return sum
}

func TestZZMicro(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	srv := redistest.Start(t)
	c := srv.Client(t)
	rt := &roundTrips{}
	c.AddHook(rt)
	m := sessiontest.MustManager(t, New(c), "", nil)
	a := sessiontest.NewApp(t, m)
	for range 60 {
		a.Login("crowd")
	}
	var cookies []string
	for i := range 64 {
		ck := a.Login(fmt.Sprintf("cart%d", i))
		for range 5 {
			a.Do("POST", "/set/_notices/"+strings.Repeat("x", 40), ck)
		}
		cookies = append(cookies, ck)
	}
	var seq atomic.Int64
	run := func(name string, fn func(w, i int)) {
		const n, workers = 6000, 16
		before := zzCPU2(c)
		rt0 := rt.n.Load()
		t0 := time.Now()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range n / workers {
					fn(w, i)
				}
			})
		}
		wg.Wait()
		fmt.Printf("%-28s %6.1f us Redis CPU/op  %6.0f ops/s  %.2f round trips/op\n", name, (zzCPU2(c)-before)/n*1e6, n/time.Since(t0).Seconds(), float64(rt.n.Load()-rt0)/n)
	}
	for range 1 {
		run("fcall return 1 (plain)", func(w, i int) { c.Do(context.Background(), "EVAL", "return 1", 0) })
		run("read (HGETALL)", func(w, i int) { a.Do("GET", "/get/x", cookies[w]) })
		run("incr", func(w, i int) { a.Do("POST", "/incr/apples", cookies[w]) })
		run("set notices (CAS)", func(w, i int) {
			a.Do("POST", "/set/_notices/v"+strconv.Itoa(i), cookies[w])
		})
		run("login new name", func(w, i int) { a.Do("POST", "/login/n"+strconv.FormatInt(seq.Add(1), 10), "") })
		run("login crowd", func(w, i int) { a.Do("POST", "/login/crowd", "") })
	}
	_ = session.Layout1
}
