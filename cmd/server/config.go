package main

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/sessiond/sessiond/internal/redisconn"
	"github.com/sessiond/sessiond/internal/session"
)

// config is the whole configuration, read from the environment here and
// nowhere else. Each variable is read by one getenv call with its literal
// name, so tools (deploy/check) can list them from this file.
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
	// MaxPerUser is the most live sessions one name keeps; a login beyond
	// it ends the least recently used.
	MaxPerUser int
	// RedisWaitReplicas > 0 makes logins, regenerates, logouts and revokes
	// wait (WAIT) until that many replicas hold them; 0 is off.
	RedisWaitReplicas int
	// OTLPEndpoint is where spans go (the full URL for OTLP/HTTP, the
	// collector's URL for gRPC); "" means tracing is off. OTLPProtocol is
	// "http/protobuf" or "grpc". See tracingConfig.
	OTLPEndpoint string
	OTLPProtocol string
	// StoreTimeout bounds each call to the session store (Redis or the
	// filesystem) and to the login limiter.
	StoreTimeout time.Duration
	// StoreLayout is the layout new sessions are written in; every layout
	// this release knows is read (see session.Layout).
	StoreLayout     session.Layout
	RedisKeyPrefix  string
	ShutdownDelay   time.Duration
	ShutdownTimeout time.Duration
}

// minSecretLen is the shortest signing key accepted, in bytes.
const minSecretLen = 32

// variable is one row of the configuration table that `sessiond -h`
// prints. A Default in parentheses describes; any other is the literal
// value loadConfig uses when the variable is unset.
type variable struct {
	Name, Default, Meaning string
}

// variables is the configuration table: every variable loadConfig reads,
// in the order of `sessiond -h`. Tests hold loadConfig to it (the same
// names; each literal default gives what unset gives).
func variables() []variable {
	return []variable{
		{"ADDR", "0.0.0.0:8004", "listen address, host:port"},
		{"REDIS_URL", "(unset)", "Redis to keep sessions in: redis://[user:pass@]host:port/db (rediss:// for TLS); ?master_name=NAME&addr=... is Sentinel; several addr=... (or ?cluster=true) is Cluster"},
		{"SESSION_STORE", "(redis if REDIS_URL is set, else filesystem)", "redis or filesystem"},
		{"SESSION_DIR", ".sessions", "folder of the filesystem store (and of its generated key)"},
		{"SESSION_SECRET", "(unset)", "comma-separated signing keys of at least 32 bytes; the first signs, all verify (rotation). Required with redis, the same on every replica; with filesystem, generated once and kept in SESSION_DIR"},
		{"SESSION_PERMANENT", "false", "true: the cookie lasts SESSION_LIFETIME; false: it ends with the browser"},
		{"SESSION_LIFETIME", "24h", "absolute lifetime of a session (a Go duration)"},
		{"SESSION_IDLE_TIMEOUT", "1h", "a session unused this long ends"},
		{"COOKIE_SECURE", "auto", "auto (Secure over HTTPS, directly or per a trusted proxy), true or false"},
		{"TRUSTED_PROXIES", "127.0.0.0/8,::1/128", "comma-separated CIDRs whose X-Forwarded-* headers are believed; none trusts no proxy"},
		{"REPLICA_ID", "(host name)", "this replica's name: the X-Replica header, the page footer, the logs"},
		{"LOG_LEVEL", "info", "debug, info, warn or error"},
		{"LOG_FORMAT", "json", "json or text"},
		{"LOGIN_RATE_LIMIT", "10", "POST /login attempts per minute per client IP, across replicas; 0 turns it off"},
		{"LOGIN_RATE_LIMIT_IPV6_PREFIX", "64", "IPv6 clients are counted by this network (/64: one allocation), IPv4 ones by address; 32 to 128"},
		{"SESSION_MAX_PER_NAME", "50", "the most live sessions one name keeps; a login beyond it ends the least recently used"},
		{"REDIS_WAIT_REPLICAS", "0", "logins and logouts wait until this many Redis replicas hold them (WAIT); 0 is off"},
		{"STORE_TIMEOUT", "1s", "bound of each session store call (Redis or the filesystem store's lock) and of the login limiter's; past it the request gets 503"},
		{"REDIS_TIMEOUT", "(STORE_TIMEOUT)", "the former name of STORE_TIMEOUT, used when STORE_TIMEOUT is unset"},
		{"STORE_LAYOUT", "1", "how new sessions are stored: 1 (what releases up to c3f0c61 read) or 2 (versioned; only once no replica older than this release runs). Both are always read"},
		{"REDIS_KEY_PREFIX", "", "prefix of every Redis key (no braces or spaces), to share a Redis"},
		{"SHUTDOWN_DELAY", "0s", "on SIGTERM, how long /readyz says 503 before the listener closes"},
		{"SHUTDOWN_TIMEOUT", "15s", "then, how long requests in flight may take to finish"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "(unset)", "collector URL, e.g. http://otel-collector:4318 (http/protobuf) or http://otel-collector:4317 (grpc); unset, tracing is off"},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "(unset)", "the traces URL when it differs (wins over the above)"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", "http/protobuf or grpc (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL wins)"},
		{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "(unset)", "the protocol for traces, when it differs"},
		{"OTEL_TRACES_EXPORTER", "otlp", "otlp, or none to turn tracing off"},
		{"OTEL_SDK_DISABLED", "false", "true turns tracing off; the SDK reads the other OTEL_* variables itself"},
	}
}

// defaults are the literal defaults of the table, by name.
func defaults() map[string]string {
	d := map[string]string{}
	for _, v := range variables() {
		if !strings.HasPrefix(v.Default, "(") {
			d[v.Name] = v.Default
		}
	}
	return d
}

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
	d := defaults()
	c := config{
		Addr:              p.addr("ADDR", orDefault(getenv("ADDR"), d["ADDR"])),
		RedisURL:          getenv("REDIS_URL"),
		SessionDir:        orDefault(getenv("SESSION_DIR"), d["SESSION_DIR"]),
		Permanent:         p.boolean("SESSION_PERMANENT", orDefault(getenv("SESSION_PERMANENT"), d["SESSION_PERMANENT"])),
		Lifetime:          p.duration("SESSION_LIFETIME", orDefault(getenv("SESSION_LIFETIME"), d["SESSION_LIFETIME"]), false),
		IdleTimeout:       p.duration("SESSION_IDLE_TIMEOUT", orDefault(getenv("SESSION_IDLE_TIMEOUT"), d["SESSION_IDLE_TIMEOUT"]), false),
		CookieSecure:      p.oneOf("COOKIE_SECURE", getenv("COOKIE_SECURE"), d["COOKIE_SECURE"], "auto", "true", "false"),
		TrustedProxies:    p.proxies("TRUSTED_PROXIES", orDefault(getenv("TRUSTED_PROXIES"), d["TRUSTED_PROXIES"])),
		ReplicaID:         p.replica("REPLICA_ID", getenv("REPLICA_ID")),
		LogLevel:          p.level("LOG_LEVEL", orDefault(getenv("LOG_LEVEL"), d["LOG_LEVEL"])),
		LogFormat:         p.oneOf("LOG_FORMAT", getenv("LOG_FORMAT"), d["LOG_FORMAT"], "json", "text"),
		LoginRateLimit:    p.count("LOGIN_RATE_LIMIT", orDefault(getenv("LOGIN_RATE_LIMIT"), d["LOGIN_RATE_LIMIT"])),
		RedisWaitReplicas: p.count("REDIS_WAIT_REPLICAS", orDefault(getenv("REDIS_WAIT_REPLICAS"), d["REDIS_WAIT_REPLICAS"])),
		StoreTimeout:      p.storeTimeout(getenv("STORE_TIMEOUT"), getenv("REDIS_TIMEOUT"), d["STORE_TIMEOUT"]),
		StoreLayout:       p.layout("STORE_LAYOUT", orDefault(getenv("STORE_LAYOUT"), d["STORE_LAYOUT"])),
		RedisKeyPrefix:    p.keyPrefix("REDIS_KEY_PREFIX", getenv("REDIS_KEY_PREFIX")),
		ShutdownDelay:     p.duration("SHUTDOWN_DELAY", orDefault(getenv("SHUTDOWN_DELAY"), d["SHUTDOWN_DELAY"]), true),
		ShutdownTimeout:   p.duration("SHUTDOWN_TIMEOUT", orDefault(getenv("SHUTDOWN_TIMEOUT"), d["SHUTDOWN_TIMEOUT"]), false),
	}
	c.OTLPEndpoint, c.OTLPProtocol = p.tracing(tracingEnvOf(getenv))
	c.LoginRateLimitIPv6Prefix = p.ipv6Prefix("LOGIN_RATE_LIMIT_IPV6_PREFIX", orDefault(getenv("LOGIN_RATE_LIMIT_IPV6_PREFIX"), d["LOGIN_RATE_LIMIT_IPV6_PREFIX"]))
	c.MaxPerUser = p.maxPerName("SESSION_MAX_PER_NAME", orDefault(getenv("SESSION_MAX_PER_NAME"), d["SESSION_MAX_PER_NAME"]))

	defaultStore := "filesystem"
	if c.RedisURL != "" {
		defaultStore = "redis"
	}
	c.Store = p.oneOf("SESSION_STORE", getenv("SESSION_STORE"), defaultStore, "redis", "filesystem")
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

// healthcheckURL is the URL `sessiond healthcheck` probes: /healthz on the
// loopback address at ADDR's port (or ADDR's own host when it names one).
func healthcheckURL(getenv func(string) string) (string, error) {
	var p problems
	addr := p.addr("ADDR", orDefault(getenv("ADDR"), defaults()["ADDR"]))
	if p.list != nil {
		return "", &configError{problems: p.list}
	}
	host, port, _ := net.SplitHostPort(addr)
	if ip, err := netip.ParseAddr(host); host == "" || err == nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

// tracingEnvOf reads the standard OpenTelemetry variables that decide
// whether and where spans go.
func tracingEnvOf(getenv func(string) string) tracingEnv {
	return tracingEnv{
		disabled:        getenv("OTEL_SDK_DISABLED"),
		exporter:        getenv("OTEL_TRACES_EXPORTER"),
		endpoint:        getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
		tracesEndpoint:  getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
		protocol:        getenv("OTEL_EXPORTER_OTLP_PROTOCOL"),
		tracesProtocol:  getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
		defaultProtocol: defaults()["OTEL_EXPORTER_OTLP_PROTOCOL"],
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
