package redisstore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/redistest"
)

func TestZZFn(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx := context.Background()
	key := "s:{AAAA}x"
	c.HSet(ctx, key, "@", strings.Repeat("m", 27), "apples", "1", "_notices", strings.Repeat("n", 200))
	variants := map[string]string{
		"empty":      `return 1`,
		"3 calls":    `local k = KEYS[1]; redis.call('HEXISTS', k, '@'); local v = redis.call('HGET', k, 'apples'); redis.call('HSET', k, 'apples', v); return 1`,
		"3 calls+rd": `local k = KEYS[1]; MK, FOREIGN = ARGV[1], ''; redis.call('HEXISTS', k, '@'); local v = redis.call('HGET', k, 'apples'); redis.call('HSET', k, 'apples', v); return reply(OK, 0, 0, 1)`,
		"apply":      applyScript.body,
	}
	lib := "#!lua name=zzlib\n" + prelude + luaLib
	for name, body := range variants {
		lib += fmt.Sprintf("\nredis.register_function('zz_%s', function(KEYS, ARGV)\n%s\nend)\n", strings.ReplaceAll(strings.ReplaceAll(name, " ", "_"), "+", "_"), body)
	}
	if err := c.FunctionLoadReplace(ctx, lib).Err(); err != nil {
		t.Fatal(err)
	}
	args := []any{"", 0, 0, 0, "", "", 0, 0, 0, 1, "apples", 0, 1000000}
	const n, depth = 32000, 16
	for range 2 {
		for _, name := range []string{"empty", "3 calls", "3 calls+rd", "apply"} {
			fn := "zz_" + strings.ReplaceAll(strings.ReplaceAll(name, " ", "_"), "+", "_")
			before := zzCPU2(c)
			for i := 0; i < n/depth; i++ {
				p := c.Pipeline()
				for range depth {
					p.FCall(ctx, fn, []string{key}, args...)
				}
				if _, err := p.Exec(ctx); err != nil {
					t.Fatal(name, err)
				}
			}
			fmt.Printf("%-12s %.2f us\n", name, (zzCPU2(c)-before)/n*1e6)
		}
	}
	_ = redis.Nil
}
