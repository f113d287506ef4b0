package main

import (
	"fmt"
	"github.com/sessiond/sessiond/internal/ratelimit"
	"github.com/sessiond/sessiond/internal/redisconn"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// config is the whole configuration, read from the environment here and
// nowhere else. Each variable is read by one getenv call with its literal
// name, so tools can list them from this file.
type config struct {
	Addr           string
	RedisURL       string
	RedisKind      redisconn.Kind // topology REDIS_URL names
	Store          string         // "redis" or "filesystem"
	SessionDir     string
	Secrets        [][]byte // nil: generated and kept in SessionDir (filesystem only)
	Permanent      bool
	Lifetime       time.Duration
	IdleTimeout    time.Duration
	CookieSecure   string // "auto", "true" or "false"
	TrustedProxies []netip.Prefix
	ReplicaID      string // "" means the host name
	LogLevel       slog.Level
	LogFormat      string // "json" or "text"
	// LoginRateLimit is POST /login attempts per minute per client IP,
	// counted in Redis (all replicas) or in memory (filesystem); 0 is off.
	LoginRateLimit int
	// LoginRateLimitIPv6Prefix is the network an IPv6 client is counted
	// by (IPv4 clients are counted by address).
	LoginRateLimitIPv6Prefix int
	// RedisWaitReplicas > 0 makes logins, regenerates, logouts and revokes
	// wait (WAIT) until that many replicas hold them; 0 is off.
	RedisWaitReplicas int
	// OTLPEndpoint is the full URL spans are POSTed to (OTLP/HTTP); ""
	// means tracing is off. See otlpEndpoint.
	OTLPEndpoint    string
	RedisTimeout    time.Duration
	RedisKeyPrefix  string
	ShutdownDelay   time.Duration
	ShutdownTimeout time.Duration
}

// Defaults, as documented.
const (
	defaultAddr           = "0.0.0.0:8004"
	defaultSessionDir     = ".sessions"
	defaultLifetime       = 24 * time.Hour
	defaultIdleTimeout    = time.Hour
	defaultTrustedProxies = "127.0.0.0/8,::1/128"
	defaultLoginRateLimit = 10
	defaultRedisTimeout   = time.Second
	defaultShutdownDelay  = 0
	defaultShutdownTime   = 15 * time.Second
	minSecretLen          = 32
)

// configError lists every problem of the configuration, one per line.
type configError struct {
	problems []string
}

func (e *configError) Error() string {
	return "config: " + strings.Join(e.problems, "\nconfig: ")
}

// loadConfig reads and checks every variable, and reports all problems
// together.
func loadConfig(getenv func(string) string) (config, error) {
	var p problems
	c := config{
		Addr:              p.addr("ADDR", getenv("ADDR"), defaultAddr),
		RedisURL:          getenv("REDIS_URL"),
		SessionDir:        orDefault(getenv("SESSION_DIR"), defaultSessionDir),
		Permanent:         p.boolean("SESSION_PERMANENT", getenv("SESSION_PERMANENT"), false),
		Lifetime:          p.duration("SESSION_LIFETIME", getenv("SESSION_LIFETIME"), defaultLifetime, false),
		IdleTimeout:       p.duration("SESSION_IDLE_TIMEOUT", getenv("SESSION_IDLE_TIMEOUT"), defaultIdleTimeout, false),
		CookieSecure:      p.oneOf("COOKIE_SECURE", strings.ToLower(getenv("COOKIE_SECURE")), "auto", "auto", "true", "false"),
		TrustedProxies:    p.proxies("TRUSTED_PROXIES", orDefault(getenv("TRUSTED_PROXIES"), defaultTrustedProxies)),
		ReplicaID:         p.replica("REPLICA_ID", getenv("REPLICA_ID")),
		LogLevel:          p.level("LOG_LEVEL", getenv("LOG_LEVEL")),
		LogFormat:         p.oneOf("LOG_FORMAT", strings.ToLower(getenv("LOG_FORMAT")), "json", "json", "text"),
		LoginRateLimit:    p.count("LOGIN_RATE_LIMIT", getenv("LOGIN_RATE_LIMIT"), defaultLoginRateLimit),
		RedisWaitReplicas: p.count("REDIS_WAIT_REPLICAS", getenv("REDIS_WAIT_REPLICAS"), 0),
		OTLPEndpoint:      p.otlpEndpoint(getenv),
		RedisTimeout:      p.duration("REDIS_TIMEOUT", getenv("REDIS_TIMEOUT"), defaultRedisTimeout, false),
		RedisKeyPrefix:    p.keyPrefix("REDIS_KEY_PREFIX", getenv("REDIS_KEY_PREFIX")),
		ShutdownDelay:     p.duration("SHUTDOWN_DELAY", getenv("SHUTDOWN_DELAY"), defaultShutdownDelay, true),
		ShutdownTimeout:   p.duration("SHUTDOWN_TIMEOUT", getenv("SHUTDOWN_TIMEOUT"), defaultShutdownTime, false),
	}
	c.LoginRateLimitIPv6Prefix = p.ipv6Prefix("LOGIN_RATE_LIMIT_IPV6_PREFIX", getenv("LOGIN_RATE_LIMIT_IPV6_PREFIX"))

	defaultStore := "filesystem"
	if c.RedisURL != "" {
		defaultStore = "redis"
	}
	c.Store = p.oneOf("SESSION_STORE", strings.ToLower(getenv("SESSION_STORE")), defaultStore, "redis", "filesystem")
	if c.RedisURL != "" {
		kind, err := redisconn.KindOf(c.RedisURL)
		if err != nil {
			p.add("REDIS_URL: %v", err)
		}
		c.RedisKind = kind
	} else if c.Store == "redis" {
		p.add("REDIS_URL is required with SESSION_STORE=redis (e.g. redis://localhost:6379/0)")
	}

	c.Secrets = p.secrets("SESSION_SECRET", getenv("SESSION_SECRET"))
	if c.Secrets == nil && c.Store == "redis" {
		p.add("SESSION_SECRET is required with the redis store, the same on every replica (comma-separated keys of at least %d bytes; the first signs)", minSecretLen)
	}
	if p.list != nil {
		return c, &configError{problems: p.list}
	}
	return c, nil
}

// healthcheckURL is the URL `server healthcheck` probes: /healthz on the
// loopback address at ADDR's port (or ADDR's own host when it names one).
func healthcheckURL(getenv func(string) string) (string, error) {
	var p problems
	addr := p.addr("ADDR", getenv("ADDR"), defaultAddr)
	if p.list != nil {
		return "", &configError{problems: p.list}
	}
	host, port, _ := net.SplitHostPort(addr)
	if ip, err := netip.ParseAddr(host); host == "" || err == nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

// problems collects one line per bad variable.
type problems struct {
	list []string
}

func (p *problems) add(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (p *problems) addr(name, v, def string) string {
	v = orDefault(v, def)
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		p.add("%s=%q: want host:port, e.g. 0.0.0.0:8004", name, v)
		return v
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add("%s=%q: the port must be a number from 0 to 65535", name, v)
	}
	return v
}

func (p *problems) boolean(name, v string, def bool) bool {
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.add("%s=%q: want true or false", name, v)
	}
	return b
}

func (p *problems) duration(name, v string, def time.Duration, zeroOK bool) time.Duration {
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		p.add("%s=%q: want a duration such as 30s, 15m or 24h", name, v)
	case d < 0 || d == 0 && !zeroOK:
		p.add("%s=%q: must be positive", name, v)
	}
	return d
}

func (p *problems) oneOf(name, v, def string, allowed ...string) string {
	if v == "" {
		return def
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.add("%s=%q: want one of %s", name, v, strings.Join(allowed, ", "))
	return def
}

func (p *problems) count(name, v string, def int) int {
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		p.add("%s=%q: want a whole number, 0 or more (0 turns it off)", name, v)
	}
	return n
}

func (p *problems) level(name, v string) slog.Level {
	switch strings.ToLower(v) {
	case "", "info":
		return slog.LevelInfo
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	p.add("%s=%q: want debug, info, warn or error", name, v)
	return slog.LevelInfo
}

// proxies parses comma-separated CIDRs or addresses. "none" trusts no
// proxy; a network that contains every address is refused.
func (p *problems) proxies(name, v string) []netip.Prefix {
	if strings.TrimSpace(strings.ToLower(v)) == "none" {
		return nil
	}
	var out []netip.Prefix
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		pr, err := netip.ParsePrefix(part)
		if err != nil {
			ip, ipErr := netip.ParseAddr(part)
			if ipErr != nil {
				p.add("%s: %q is not a CIDR (10.0.0.0/8) or an IP address", name, part)
				continue
			}
			pr = netip.PrefixFrom(ip, ip.BitLen())
		}
		if pr.Bits() == 0 {
			p.add("%s: %q would trust every client's X-Forwarded-* headers; list your proxies' networks", name, part)
			continue
		}
		out = append(out, pr.Masked())
	}
	return out
}

// ipv6Prefix is the prefix length the login limiter counts IPv6 clients
// by, checked by ratelimit's rule.
func (p *problems) ipv6Prefix(name, v string) int {
	if v == "" {
		return ratelimit.DefaultIPv6Prefix
	}
	n, err := strconv.Atoi(v)
	if err == nil {
		err = ratelimit.CheckIPv6Prefix(n)
	} else {
		err = ratelimit.CheckIPv6Prefix(-1) // not a number: the same advice
	}
	if err != nil {
		p.add("%s=%q: %v", name, v, err)
		return ratelimit.DefaultIPv6Prefix
	}
	return n
}

// replica checks a name that goes into a header and the page footer.
func (p *problems) replica(name, v string) string {
	if v == "" {
		return ""
	}
	if len(v) > 64 || strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r))
	}) >= 0 {
		p.add("%s=%q: use up to 64 of A-Z a-z 0-9 . _ -", name, v)
	}
	return v
}

// keyPrefix refuses braces: they would change the keys' Redis Cluster
// hash tags, which keep a session's keys in one slot.
func (p *problems) keyPrefix(name, v string) string {
	if len(v) > 64 || strings.ContainsAny(v, "{} \t\r\n") {
		p.add("%s=%q: up to 64 characters, without braces or spaces", name, v)
	}
	return v
}

// secrets parses comma-separated signing keys; nil when unset. Key values
// never appear in messages.
func (p *problems) secrets(name, v string) [][]byte {
	if v == "" {
		return nil
	}
	var keys [][]byte
	for i, k := range strings.Split(v, ",") {
		k = strings.TrimSpace(k)
		if len(k) < minSecretLen {
			p.add("%s: key %d is %d bytes; each key must be at least %d bytes (e.g. openssl rand -hex 32)", name, i+1, len(k), minSecretLen)
			continue
		}
		keys = append(keys, []byte(k))
	}
	if len(keys) == 0 {
		return [][]byte{} // set but unusable: the problems say why
	}
	return keys
}

// otlpEndpoint is where spans go, by the standard variables:
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, else
// OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces appended; "" (tracing off)
// when neither is set, or OTEL_SDK_DISABLED=true, or
// OTEL_TRACES_EXPORTER=none. Only OTLP over HTTP (http/protobuf) is
// built in. The exporter reads the other OTEL_EXPORTER_OTLP_* variables
// (headers, timeout, compression, certificates) itself. URLs are never
// repeated in messages: they may hold credentials.
func (p *problems) otlpEndpoint(getenv func(string) string) string {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return ""
	}
	switch e := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))); e {
	case "", "otlp":
	case "none":
		return ""
	default:
		p.add("OTEL_TRACES_EXPORTER=%q: want otlp or none", e)
		return ""
	}
	name, raw, perSignal := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), true
	if raw == "" {
		name, raw, perSignal = "OTEL_EXPORTER_OTLP_ENDPOINT", getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), false
	}
	if raw == "" {
		return ""
	}
	protoName, proto := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		protoName, proto = "OTEL_EXPORTER_OTLP_PROTOCOL", getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if proto != "" && proto != "http/protobuf" {
		p.add("%s=%q: only http/protobuf is supported (an OTLP/HTTP endpoint, usually port 4318)", protoName, proto)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		p.add("%s: want an http:// or https:// URL, e.g. http://otel-collector:4318", name)
		return ""
	}
	if !perSignal {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String()
}
