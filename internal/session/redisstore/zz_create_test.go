package redisstore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/redistest"
)

func TestZZCreate(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx := context.Background()
	if err := c.FunctionLoadReplace(ctx, library.src).Err(); err != nil {
		t.Fatal(err)
	}
	meta := strings.Repeat("v", 14)
	const n, depth = 16000, 16
	seq := 0
	for round := range 2 {
		for _, mode := range []string{"no index", "new user", "same user (cap 50)"} {
			before := zzCPU2(c)
			for i := 0; i < n/depth; i++ {
				p := c.Pipeline()
				for range depth {
					seq++
					key := fmt.Sprintf("s:{%04d}%012d", seq%10000, seq)
					member := fmt.Sprintf("%012d", seq)
					args := []any{"", 3600000, 86400000, "", "", 0, "", meta, "@u", "someone"}
					keys := []string{key}
					switch mode {
					case "new user":
						idx := fmt.Sprintf("u:{%02x}", seq%256)
						keys = append(keys, idx)
						args = []any{"", 3600000, 86400000, fmt.Sprintf("%08d", seq), member, 50, "s:", meta, "@u", "someone"}
					case "same user (cap 50)":
						keys = append(keys, "u:{00}")
						args = []any{"", 3600000, 86400000, "crowd###", member, 50, "s:", meta, "@u", "crowd"}
					}
					p.FCall(ctx, createScript.fn, keys, args...)
				}
				if _, err := p.Exec(ctx); err != nil {
					t.Fatal(mode, err)
				}
			}
			fmt.Printf("round %d %-22s %.2f us\n", round, mode, (zzCPU2(c)-before)/n*1e6)
		}
	}
}
