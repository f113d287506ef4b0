package http

import (
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the networks whose X-Forwarded-* headers are believed: for
// the client IP (through Gin), for the HTTPS-ness of a request (Secure
// cookies, HSTS). The zero value trusts no one.
type Proxies struct {
	prefixes []netip.Prefix
}

// NewProxies trusts the given networks.
func NewProxies(prefixes []netip.Prefix) Proxies {
	return Proxies{prefixes: prefixes}
}

// Strings returns the networks in Gin's SetTrustedProxies form.
func (p Proxies) Strings() []string {
	out := make([]string, 0, len(p.prefixes))
	for _, pr := range p.prefixes {
		out = append(out, pr.String())
	}
	return out
}

// Trusted tells whether a peer address ("ip:port", as in
// http.Request.RemoteAddr) is a trusted proxy.
func (p Proxies) Trusted(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, pr := range p.prefixes {
		if pr.Contains(ip) {
			return true
		}
	}
	return false
}

// IsHTTPS tells whether r came over HTTPS: directly, or per the
// X-Forwarded-Proto of a trusted proxy (its first value, the one the
// client-facing proxy set).
func (p Proxies) IsHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	proto := r.Header.Get("X-Forwarded-Proto")
	if proto == "" || !p.Trusted(r.RemoteAddr) {
		return false
	}
	first, _, _ := strings.Cut(proto, ",")
	return strings.EqualFold(strings.TrimSpace(first), "https")
}
