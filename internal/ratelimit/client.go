package ratelimit

import (
	"context"
	"fmt"
	"net/netip"
)

// IPv6 clients are counted by network, not by address: a home or a cloud
// machine is routinely given a whole /64 (often a /56 or /48), so one
// client can use as many addresses as it likes. IPv4 clients are counted
// by address.
const (
	// DefaultIPv6Prefix is the network size an IPv6 client is counted by.
	DefaultIPv6Prefix = 64
	// MinIPv6Prefix and MaxIPv6Prefix bound the setting: shorter than /32
	// (a whole provider's allocation) would make strangers share one
	// budget; /128 counts every address, as for IPv4.
	MinIPv6Prefix = 32
	MaxIPv6Prefix = 128
)

// CheckIPv6Prefix says why bits is not a usable IPv6 network size.
func CheckIPv6Prefix(bits int) error {
	if bits < MinIPv6Prefix || bits > MaxIPv6Prefix {
		return fmt.Errorf("want a prefix length from %d to %d (default %d: IPv6 clients are counted by /%d)",
			MinIPv6Prefix, MaxIPv6Prefix, DefaultIPv6Prefix, DefaultIPv6Prefix)
	}
	return nil
}

// ClientKey is the key a client's attempts count under: an IPv4 address
// (an IPv4-mapped IPv6 one too) as it is, an IPv6 address by its network
// of ipv6Bits ("2001:db8:1:2::/64"), zone dropped. Anything that is not an
// IP address is its own key.
func ClientKey(ip string, ipv6Bits int) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.WithZone("").Unmap()
	if addr.Is4() {
		return addr.String()
	}
	p, err := addr.Prefix(ipv6Bits)
	if err != nil {
		return addr.String()
	}
	return p.String()
}

// byNetwork counts each client under its ClientKey.
type byNetwork struct {
	next     Limiter
	ipv6Bits int
}

// ByClientNetwork makes l count the attempts of an IP address under its
// ClientKey, with IPv6 clients counted by their /ipv6Bits network. The
// configuration checks ipv6Bits with CheckIPv6Prefix at start.
func ByClientNetwork(l Limiter, ipv6Bits int) Limiter {
	return byNetwork{next: l, ipv6Bits: ipv6Bits}
}

// Allow implements Limiter; ip is the client's address.
func (b byNetwork) Allow(ctx context.Context, ip string) (Decision, error) {
	return b.next.Allow(ctx, ClientKey(ip, b.ipv6Bits))
}
