package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sessiond/sessiond/internal/ratelimit"
	"github.com/sessiond/sessiond/internal/session"
)

// problems collects one line per bad variable. Each parser takes the
// variable's name and its value with the default applied.
type problems struct {
	list []string
}

func (p *problems) add(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) addr(name, v string) string {
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

func (p *problems) boolean(name, v string) bool {
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.add("%s=%q: want true or false", name, v)
	}
	return b
}

func (p *problems) duration(name, v string, zeroOK bool) time.Duration {
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		p.add("%s=%q: want a duration such as 30s, 15m or 24h", name, v)
	case d < 0 || d == 0 && !zeroOK:
		p.add("%s=%q: must be positive", name, v)
	}
	return d
}

// oneOf is v, lower-cased, when it is one of allowed; def when v is empty
// or not allowed.
func (p *problems) oneOf(name, v, def string, allowed ...string) string {
	if v == "" {
		return def
	}
	v = strings.ToLower(v)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.add("%s=%q: want one of %s", name, v, strings.Join(allowed, ", "))
	return def
}

func (p *problems) count(name, v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		p.add("%s=%q: want a whole number, 0 or more (0 turns it off)", name, v)
	}
	return n
}

func (p *problems) level(name, v string) slog.Level {
	switch strings.ToLower(v) {
	case "info":
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

// tracingEnv are the standard OpenTelemetry variables that decide whether
// and where spans go.
type tracingEnv struct {
	disabled, exporter       string
	endpoint, tracesEndpoint string
	protocol, tracesProtocol string
	defaultProtocol          string
}

// tracing checks the OTEL_* variables the exporter will read
// (autoexport, then otlptracehttp or otlptracegrpc), so a mistake is a
// clear line at start, and returns where spans go and how: "" (tracing
// off) when no endpoint is set, or OTEL_SDK_DISABLED=true, or
// OTEL_TRACES_EXPORTER=none. The endpoint is
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, else
// OTEL_EXPORTER_OTLP_ENDPOINT (with /v1/traces appended for OTLP/HTTP).
// URLs are never repeated in messages: they may hold credentials.
func (p *problems) tracing(e tracingEnv) (endpoint, protocol string) {
	if strings.EqualFold(strings.TrimSpace(e.disabled), "true") {
		return "", ""
	}
	switch x := strings.ToLower(strings.TrimSpace(e.exporter)); x {
	case "", "otlp":
	case "none":
		return "", ""
	default:
		// autoexport also knows "console", which would print spans into
		// the JSON log on stdout.
		p.add("OTEL_TRACES_EXPORTER=%q: want otlp or none", x)
		return "", ""
	}
	name, raw, perSignal := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", e.tracesEndpoint, true
	if raw == "" {
		name, raw, perSignal = "OTEL_EXPORTER_OTLP_ENDPOINT", e.endpoint, false
	}
	if raw == "" {
		return "", ""
	}
	protoName, proto := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", e.tracesProtocol
	if proto == "" {
		protoName, proto = "OTEL_EXPORTER_OTLP_PROTOCOL", orDefault(e.protocol, e.defaultProtocol)
	}
	if proto != "http/protobuf" && proto != "grpc" {
		p.add("%s=%q: want http/protobuf (usually port 4318) or grpc (usually port 4317)", protoName, proto)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		p.add("%s: want an http:// or https:// URL, e.g. http://otel-collector:4318", name)
		return "", ""
	}
	if !perSignal && proto == "http/protobuf" {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), proto
}

// ipv6Prefix is the prefix length the login limiter counts IPv6 clients
// by, checked by ratelimit's rule.
func (p *problems) ipv6Prefix(name, v string) int {
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

// maxPerName is the most sessions one name keeps: 1 to 1000.
func (p *problems) maxPerName(name, v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		p.add("%s=%q: want a whole number from 1 to 1000", name, v)
		return 50
	}
	return n
}

// storeTimeout is STORE_TIMEOUT, or its former name REDIS_TIMEOUT when it
// is unset.
// layout is a storage layout this release writes.
func (p *problems) layout(name, v string) session.Layout {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 255 || !session.Layout(n).Known() {
		p.add("%s=%q: want one of the layouts this release writes: 1 or 2", name, v)
		return session.Layout1
	}
	return session.Layout(n)
}

func (p *problems) storeTimeout(v, former, def string) time.Duration {
	switch {
	case v != "":
		return p.duration("STORE_TIMEOUT", v, false)
	case former != "":
		return p.duration("REDIS_TIMEOUT", former, false)
	}
	return p.duration("STORE_TIMEOUT", def, false)
}
