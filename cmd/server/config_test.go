package main

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/redisconn"
)

const goodSecret = "0123456789abcdef0123456789abcdef"

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:8004" || c.Store != "filesystem" || c.SessionDir != ".sessions" || c.Secrets != nil ||
		c.Permanent || c.Lifetime != 24*time.Hour || c.IdleTimeout != time.Hour || c.CookieSecure != "auto" ||
		c.LogLevel != slog.LevelInfo || c.LogFormat != "json" || c.LoginRateLimit != 10 ||
		c.StoreTimeout != time.Second || c.ShutdownDelay != 0 || c.ShutdownTimeout != 15*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[0] != want[0] || c.TrustedProxies[1] != want[1] {
		t.Fatalf("trusted proxies %v", c.TrustedProxies)
	}

	c, err = loadConfig(env("REDIS_URL", "redis://localhost:6379/2", "SESSION_SECRET", goodSecret+", "+goodSecret+"x",
		"TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7", "LOG_LEVEL", "DEBUG", "SESSION_PERMANENT", "true", "COOKIE_SECURE", "TRUE",
		"LOGIN_RATE_LIMIT", "0", "SHUTDOWN_DELAY", "0s", "REPLICA_ID", "web-1.eu_west"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store != "redis" || len(c.Secrets) != 2 || c.RedisKind != redisconn.Single || c.RedisURL != "redis://localhost:6379/2" ||
		c.LogLevel != slog.LevelDebug || !c.Permanent || c.CookieSecure != "true" || c.LoginRateLimit != 0 ||
		len(c.TrustedProxies) != 2 || c.TrustedProxies[1] != netip.MustParsePrefix("192.168.1.7/32") {
		t.Fatalf("parsed: %+v", c)
	}
	if c, err = loadConfig(env("TRUSTED_PROXIES", "none")); err != nil || len(c.TrustedProxies) != 0 {
		t.Fatalf("TRUSTED_PROXIES=none: %v %v", c.TrustedProxies, err)
	}
	if c, err = loadConfig(env("REDIS_URL", "redis://x", "SESSION_STORE", "filesystem")); err != nil || c.Store != "filesystem" {
		t.Fatalf("filesystem with REDIS_URL set: %v %v", c.Store, err)
	}
}

// TestConfigProblems: each bad value is one line naming the variable, and
// every problem is reported at once.
func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"ADDR", "8004"}, "ADDR"},
		{[]string{"ADDR", "host:99999"}, "ADDR"},
		{[]string{"SESSION_SECRET", goodSecret, "REDIS_URL", "http://localhost"}, "REDIS_URL"},
		{[]string{"SESSION_SECRET", goodSecret, "REDIS_URL", "redis://localhost?bogus=1"}, "REDIS_URL"},
		{[]string{"SESSION_SECRET", goodSecret, "REDIS_URL", "redis://h?master_name=m&replica_only=true"}, "REDIS_URL"},
		{[]string{"SESSION_SECRET", goodSecret, "REDIS_URL", "redis://h?cluster=maybe"}, "REDIS_URL"},
		{[]string{"SESSION_STORE", "redis", "SESSION_SECRET", goodSecret}, "REDIS_URL is required"},
		{[]string{"SESSION_STORE", "memcached"}, "SESSION_STORE"},
		{[]string{"REDIS_URL", "redis://h"}, "SESSION_SECRET is required"},
		{[]string{"SESSION_SECRET", "too-short"}, "SESSION_SECRET"},
		{[]string{"SESSION_SECRET", goodSecret + ", "}, "SESSION_SECRET: key 2"},
		{[]string{"SESSION_PERMANENT", "yes please"}, "SESSION_PERMANENT"},
		{[]string{"SESSION_LIFETIME", "1 day"}, "SESSION_LIFETIME"},
		{[]string{"SESSION_LIFETIME", "0s"}, "SESSION_LIFETIME"},
		{[]string{"SESSION_IDLE_TIMEOUT", "-5m"}, "SESSION_IDLE_TIMEOUT"},
		{[]string{"COOKIE_SECURE", "sometimes"}, "COOKIE_SECURE"},
		{[]string{"TRUSTED_PROXIES", "0.0.0.0/0"}, "TRUSTED_PROXIES"},
		{[]string{"TRUSTED_PROXIES", "::/0"}, "TRUSTED_PROXIES"},
		{[]string{"TRUSTED_PROXIES", "10.0.0.0/8,example.com"}, "TRUSTED_PROXIES"},
		{[]string{"REPLICA_ID", "web 1"}, "REPLICA_ID"},
		{[]string{"LOG_LEVEL", "loud"}, "LOG_LEVEL"},
		{[]string{"LOG_FORMAT", "xml"}, "LOG_FORMAT"},
		{[]string{"LOGIN_RATE_LIMIT", "-1"}, "LOGIN_RATE_LIMIT"},
		{[]string{"LOGIN_RATE_LIMIT", "ten"}, "LOGIN_RATE_LIMIT"},
		{[]string{"REDIS_TIMEOUT", "0"}, "REDIS_TIMEOUT"},
		{[]string{"REDIS_KEY_PREFIX", "app{1}:"}, "REDIS_KEY_PREFIX"},
		{[]string{"STORE_LAYOUT", "3"}, "STORE_LAYOUT"},
		{[]string{"STORE_LAYOUT", "0"}, "STORE_LAYOUT"},
		{[]string{"STORE_LAYOUT", "v2"}, "STORE_LAYOUT"},
		{[]string{"SHUTDOWN_DELAY", "-1s"}, "SHUTDOWN_DELAY"},
		{[]string{"SHUTDOWN_TIMEOUT", "0s"}, "SHUTDOWN_TIMEOUT"},
	} {
		_, err := loadConfig(env(tc.env...))
		if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != 2 {
			t.Errorf("%v: err %v (exit %d), want a problem with %q", tc.env, err, exitCode(err), tc.want)
			continue
		}
		if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
			t.Errorf("%v: %d lines, want 1: %v", tc.env, n, err)
		}
	}

	_, err := loadConfig(env("ADDR", "x", "SESSION_LIFETIME", "y", "LOG_FORMAT", "z", "SESSION_SECRET", "secret-value-shown?"))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 lines, one per problem:\n%v", err)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "config: ") {
			t.Errorf("line %q", l)
		}
	}
	if strings.Contains(err.Error(), "secret-value-shown?") {
		t.Fatal("a secret is in the message")
	}
	_, err = loadConfig(env("REDIS_URL", "redis://user:hunter2@host:bad/0", "SESSION_SECRET", goodSecret))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("password shown or no error: %v", err)
	}
}

func TestRedisURLKinds(t *testing.T) {
	// The URL rules themselves are internal/redisconn's tests; here: the
	// config carries the topology and refuses what redisconn refuses.
	for url, kind := range map[string]redisconn.Kind{
		"redis://localhost:6379/0": redisconn.Single,
		"redis://s1:26379?master_name=mymaster&addr=s2:26379&addr=s3:26379": redisconn.Sentinel,
		"redis://node1:7000?addr=node2:7001&addr=node3:7002":                redisconn.Cluster,
		"redis://node1:7000?cluster=true":                                   redisconn.Cluster,
	} {
		c, err := loadConfig(env("REDIS_URL", url, "SESSION_SECRET", goodSecret))
		if err != nil || c.RedisKind != kind {
			t.Errorf("%s: kind %q err %v, want %s", url, c.RedisKind, err, kind)
		}
	}
	c, err := loadConfig(env("REDIS_URL", "redis://h:1/0", "SESSION_SECRET", goodSecret, "REDIS_WAIT_REPLICAS", "1"))
	if err != nil || c.RedisWaitReplicas != 1 {
		t.Errorf("REDIS_WAIT_REPLICAS=1: %d %v", c.RedisWaitReplicas, err)
	}
	if _, err := loadConfig(env("REDIS_URL", "redis://h:1/0", "SESSION_SECRET", goodSecret, "REDIS_WAIT_REPLICAS", "-1")); err == nil {
		t.Error("REDIS_WAIT_REPLICAS=-1 accepted")
	}
	if _, err := loadConfig(env("REDIS_URL", "redis://h:1?route_randomly=true&addr=h:2", "SESSION_SECRET", goodSecret)); err == nil {
		t.Error("read routing to replicas accepted")
	}
}

func TestHealthcheckURL(t *testing.T) {
	for addr, want := range map[string]string{
		"":               "http://127.0.0.1:8004/healthz",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/healthz",
		":9000":          "http://127.0.0.1:9000/healthz",
		"[::]:9000":      "http://127.0.0.1:9000/healthz",
		"10.1.2.3:9000":  "http://10.1.2.3:9000/healthz",
		"localhost:9000": "http://localhost:9000/healthz",
	} {
		got, err := healthcheckURL(env("ADDR", addr))
		if err != nil || got != want {
			t.Errorf("ADDR=%q: %q %v, want %q", addr, got, err, want)
		}
	}
	if _, err := healthcheckURL(env("ADDR", "nope")); err == nil || exitCode(err) != 2 {
		t.Errorf("bad ADDR: %v", err)
	}
}
