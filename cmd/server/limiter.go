package main

import (
	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/ratelimit"
)

// loginLimiter counts logins per client IP per LOGIN_RATE_LIMIT: in Redis
// when the store is Redis, so every replica enforces one limit; in memory
// for the filesystem store (one process). IPv6 clients are counted by
// their LOGIN_RATE_LIMIT_IPV6_PREFIX network.
func loginLimiter(cfg config, client redis.UniversalClient) ratelimit.Limiter {
	var l ratelimit.Limiter
	switch {
	case cfg.LoginRateLimit == 0:
		return ratelimit.Off{}
	case client != nil:
		l = ratelimit.NewRedis(client, cfg.RedisKeyPrefix+"login:", cfg.LoginRateLimit)
	default:
		l = ratelimit.NewLocal(cfg.LoginRateLimit)
	}
	return ratelimit.ByClientNetwork(l, cfg.LoginRateLimitIPv6Prefix)
}
