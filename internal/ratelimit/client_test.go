package ratelimit

import (
	"context"
	"fmt"
	"testing"

	"github.com/sessiond/sessiond/internal/redistest"
)

func TestClientKey(t *testing.T) {
	for _, tt := range []struct {
		ip   string
		bits int
		want string
	}{
		{"192.0.2.7", 64, "192.0.2.7"},
		{"::ffff:192.0.2.7", 64, "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::/64"},
		{"2001:DB8:1:2::1", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", 64, "2001:db8:1:3::/64"},
		{"fe80::1%eth0", 64, "fe80::/64"},
		{"2001:db8:1:2ff::1", 56, "2001:db8:1:200::/56"},
		{"2001:db8:1:2::1", 128, "2001:db8:1:2::1/128"},
		{"::1", 64, "::/64"},
		{"not-an-ip", 64, "not-an-ip"},
		{"", 64, ""},
	} {
		if got := ClientKey(tt.ip, tt.bits); got != tt.want {
			t.Errorf("ClientKey(%q, %d) = %q, want %q", tt.ip, tt.bits, got, tt.want)
		}
	}
}

func TestCheckIPv6Prefix(t *testing.T) {
	for bits, ok := range map[int]bool{0: false, 31: false, 32: true, 48: true, 56: true, 64: true, 128: true, 129: false, -64: false} {
		if err := CheckIPv6Prefix(bits); (err == nil) != ok {
			t.Errorf("CheckIPv6Prefix(%d) = %v, want ok=%v", bits, err, ok)
		}
	}
}

// TestOneIPv6NetworkSharesABudget: on both limiters, five addresses of
// one /64 share one budget, a neighbouring /64 has its own, and IPv4
// addresses are counted one by one.
func TestOneIPv6NetworkSharesABudget(t *testing.T) {
	srv := redistest.Start(t)
	limiters := map[string]Limiter{
		"redis": NewRedis(srv.Client(t), redistest.Prefix(t), 3),
		"local": NewLocal(3),
	}
	for name, inner := range limiters {
		t.Run(name, func(t *testing.T) {
			l := ByClientNetwork(inner, DefaultIPv6Prefix)
			allowed := func(ips ...string) []bool {
				var out []bool
				for _, ip := range ips {
					d, err := l.Allow(context.Background(), ip)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, d.Allowed)
				}
				return out
			}
			same := []string{"2001:db8:a:1::1", "2001:db8:a:1::2", "2001:db8:a:1:ffff::", "2001:db8:a:1:1:2:3:4", "2001:db8:a:1::5"}
			if got := fmt.Sprint(allowed(same...)); got != "[true true true false false]" {
				t.Errorf("five addresses of one /64: allowed %s, want the first 3", got)
			}
			if got := fmt.Sprint(allowed("2001:db8:a:2::1", "2001:db8:b:1::1")); got != "[true true]" {
				t.Errorf("other /64s: allowed %s, want both", got)
			}
			if got := fmt.Sprint(allowed("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4")); got != "[true true true true]" {
				t.Errorf("four IPv4 addresses: allowed %s, want each its own budget", got)
			}
		})
	}
}
