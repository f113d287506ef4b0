package main

import (
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/ratelimit"
	"github.com/sessiond/sessiond/internal/session"
)

// loginLimiter counts logins per client IP per LOGIN_RATE_LIMIT: in Redis
// when the store is Redis, so every replica enforces one limit; in memory
// for the filesystem store (one process). IPv6 clients are counted by
// their LOGIN_RATE_LIMIT_IPV6_PREFIX network.
//
// In Redis its keys and values are STORE_LAYOUT's: during a change of
// layout, a client's attempts are counted twice, once per layout, for the
// minute their counts last.
func loginLimiter(cfg config, client redis.UniversalClient, foreign func(record, reason string)) ratelimit.Limiter {
	var l ratelimit.Limiter
	switch {
	case cfg.LoginRateLimit == 0:
		return ratelimit.Off{}
	case client != nil:
		marker := ""
		if cfg.StoreLayout != session.Layout1 {
			marker = strconv.Itoa(int(cfg.StoreLayout)) + ":"
		}
		l = ratelimit.NewRedis(client, cfg.RedisKeyPrefix+cfg.StoreLayout.Namespace()+"login:", cfg.LoginRateLimit,
			ratelimit.Marker(marker), ratelimit.OnForeign(func(reason string) { foreign("limiter", reason) }))
	default:
		l = ratelimit.NewLocal(cfg.LoginRateLimit)
	}
	return ratelimit.ByClientNetwork(l, cfg.LoginRateLimitIPv6Prefix)
}
