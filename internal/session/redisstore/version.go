package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// MinVersion is the oldest Redis the store's scripts run on: they use
// commands and script semantics of Redis 7.0 (effects replication of
// TIME, HRANDFIELD, PEXPIREAT in scripts), and only 7.0 and later are
// tested.
const MinVersion = "7.0.0"

// ErrTooOld: the Redis server is older than MinVersion.
var ErrTooOld = errors.New("redis is too old")

// CheckVersion asks every master c talks to for its version (HELLO, which
// a user without @dangerous may run; INFO server where HELLO is refused)
// and fails with ErrTooOld, saying which server and version, when one is
// older than MinVersion.
func CheckVersion(ctx context.Context, c redis.UniversalClient) error {
	check := func(ctx context.Context, n redis.UniversalClient, addr string) error {
		v, err := serverVersion(ctx, n)
		if err != nil {
			return fmt.Errorf("redis version of %s: %w", addr, err)
		}
		if older(v, MinVersion) {
			return fmt.Errorf("%w: %s runs Redis %s; sessiond needs Redis %s or newer", ErrTooOld, addr, v, MinVersion)
		}
		return nil
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return check(ctx, n, n.Options().Addr)
		})
	}
	return check(ctx, c, "the server")
}

// serverVersion is the server's redis_version.
func serverVersion(ctx context.Context, c redis.UniversalClient) (string, error) {
	// HELLO without arguments changes nothing on the connection and
	// reports the server's version.
	if res, err := c.Do(ctx, "HELLO").Result(); err == nil {
		if v := helloVersion(res); v != "" {
			return v, nil
		}
	}
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v, nil
		}
	}
	return "", errors.New("no redis_version in INFO server")
}

// helloVersion finds "version" in HELLO's reply, a map (RESP3) or a flat
// list of pairs (RESP2).
func helloVersion(res any) string {
	switch r := res.(type) {
	case map[any]any:
		v, _ := r["version"].(string)
		return v
	case map[string]any:
		v, _ := r["version"].(string)
		return v
	case []any:
		for i := 0; i+1 < len(r); i += 2 {
			if k, _ := r[i].(string); k == "version" {
				v, _ := r[i+1].(string)
				return v
			}
		}
	}
	return ""
}

// older tells whether version a is older than b (dotted numbers).
func older(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
