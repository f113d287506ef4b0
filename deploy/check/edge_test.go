package check

import (
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// The edge: who may tell the replicas a client's address. Only the
// balancer; never a network whose addresses a client's request can arrive
// from (compose's gateway is where every request from the host comes from).

// trustedPrefixes parses TRUSTED_PROXIES as the server does ("none" is no
// proxy; an address is its /32 or /128).
func trustedPrefixes(tb testing.TB, v string) []netip.Prefix {
	tb.Helper()
	if strings.EqualFold(strings.TrimSpace(v), "none") {
		return nil
	}
	var out []netip.Prefix
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil {
				tb.Fatalf("TRUSTED_PROXIES %q: %q is neither a CIDR nor an address", v, part)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

// TestComposeTrustsOnlyTheBalancer: the replicas trust exactly the
// balancer's fixed address (/32), which lies in the network but outside
// the range Docker hands out to other containers, and is not the gateway;
// with SESSIOND_NET moved too.
func TestComposeTrustsOnlyTheBalancer(t *testing.T) {
	const secret = "SESSION_SECRET=test-secret-0123456789abcdef0123456789abcdef"
	for _, env := range [][]string{{secret}, {secret, "SESSIOND_NET=10.99.7"}} {
		p, err := loadCompose(t, env...)
		if err != nil {
			t.Fatalf("with %q: %v", env[1:], err)
		}
		pools := p.Networks["default"].Ipam.Config
		if len(pools) != 1 {
			t.Fatalf("default network ipam = %+v, want one pool", pools)
		}
		subnet, err1 := netip.ParsePrefix(pools[0].Subnet)
		dynamic, err2 := netip.ParsePrefix(pools[0].IPRange)
		gateway, err3 := netip.ParseAddr(pools[0].Gateway)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("with %q: ipam pool %+v: want subnet, ip_range and gateway all set (%v, %v, %v)", env[1:], pools[0], err1, err2, err3)
		}

		lb := service(t, p, "lb")
		nc := lb.Networks["default"]
		if nc == nil || nc.Ipv4Address == "" {
			t.Fatalf("lb has no fixed ipv4_address on the default network: the replicas cannot trust it alone")
		}
		lbAddr, err := netip.ParseAddr(nc.Ipv4Address)
		switch {
		case err != nil:
			t.Fatalf("lb ipv4_address %q: %v", nc.Ipv4Address, err)
		case !subnet.Contains(lbAddr):
			t.Errorf("with %q: lb address %s is outside the subnet %s", env[1:], lbAddr, subnet)
		case dynamic.Contains(lbAddr):
			t.Errorf("with %q: lb address %s is inside ip_range %s, which Docker may give another container first", env[1:], lbAddr, dynamic)
		case lbAddr == gateway:
			t.Errorf("with %q: lb address %s is the gateway", env[1:], lbAddr)
		}

		trusted := trustedPrefixes(t, envOf(service(t, p, "app"))["TRUSTED_PROXIES"])
		if want := netip.PrefixFrom(lbAddr, 32); len(trusted) != 1 || trusted[0] != want {
			t.Errorf("with %q: app TRUSTED_PROXIES = %v, want only the balancer, %s", env[1:], trusted, want)
		}
		for _, pr := range trusted {
			if pr.Contains(gateway) {
				t.Errorf("with %q: TRUSTED_PROXIES %s holds the gateway %s, where every request from the host comes from", env[1:], pr, gateway)
			}
			if pr.Overlaps(dynamic) {
				t.Errorf("with %q: TRUSTED_PROXIES %s overlaps the containers' range %s", env[1:], pr, dynamic)
			}
		}
	}
}

// TestComposeBalancerEdge: lb publishes on loopback only (the docs speak
// of http://127.0.0.1:8004), and has a healthcheck that asks nginx itself
// for /healthz on the port it listens on.
func TestComposeBalancerEdge(t *testing.T) {
	lb := service(t, mustLoadCompose(t), "lb")
	if len(lb.Ports) == 0 {
		t.Fatal("lb publishes no port")
	}
	for _, pc := range lb.Ports {
		if a, err := netip.ParseAddr(pc.HostIP); err != nil || !a.IsLoopback() {
			t.Errorf("lb publishes %s:%s on host address %q, want 127.0.0.1 only", pc.HostIP, pc.Published, pc.HostIP)
		}
	}

	hc := lb.HealthCheck
	if hc == nil || hc.Disable || len(hc.Test) < 2 || hc.Test[0] != "CMD" {
		t.Fatalf("lb healthcheck = %+v, want an exec-form CMD", hc)
	}
	var probe *url.URL
	for _, a := range hc.Test[1:] {
		if u, err := url.Parse(a); err == nil && u.Scheme == "http" {
			probe = u
		}
	}
	if probe == nil {
		t.Fatalf("lb healthcheck %q names no http:// URL", hc.Test)
	}
	listen := nginxDirectives(string(readRepoFile(t, nginxConfFile)), "listen")
	if len(listen) != 1 || probe.Hostname() != "127.0.0.1" || probe.Port() != listen[0][0] {
		t.Errorf("lb healthcheck probes %s, want 127.0.0.1 on nginx's listen port %v", probe, listen)
	}
	checkRoute(t, "lb healthcheck", probe.Path, healthz)
	if hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil {
		t.Errorf("lb healthcheck %+v: set interval, timeout and retries", hc)
	}
}

// TestNginxConfSetsTheClientAddress: the committed balancer configuration
// replaces X-Forwarded-For and X-Real-IP with the address it saw; it never
// appends to the client's.
func TestNginxConfSetsTheClientAddress(t *testing.T) {
	conf := string(readRepoFile(t, nginxConfFile))
	headers := map[string][]string{}
	for _, a := range nginxDirectives(conf, "proxy_set_header") {
		if len(a) == 2 {
			headers[strings.ToLower(a[0])] = append(headers[strings.ToLower(a[0])], a[1])
		}
	}
	for _, h := range []string{"X-Forwarded-For", "X-Real-IP"} {
		if got := headers[strings.ToLower(h)]; !slices.Equal(got, []string{"$remote_addr"}) {
			t.Errorf("%s sets %s to %q, want $remote_addr only", nginxConfFile, h, got)
		}
	}
	if strings.Contains(conf, "$proxy_add_x_forwarded_for") {
		t.Errorf("%s uses $proxy_add_x_forwarded_for: a client could choose its address", nginxConfFile)
	}
}

// TestKubernetesTrustedProxies: the base cannot know where an ingress
// controller's pods are, so it trusts no proxy; each overlay names its own
// ingress' network, narrow (no IPv4 network wider than /16, no IPv6 wider
// than /48), and the app's NetworkPolicy lets only the ingress controller
// and the metrics scraper (named namespaces) or trusted addresses reach
// the pods, so no other pod in that network can speak as a proxy.
func TestKubernetesTrustedProxies(t *testing.T) {
	base := build(t, "../base")
	if len(base.configMaps) != 1 {
		t.Fatalf("base makes %d ConfigMaps, want sessiond-config only", len(base.configMaps))
	}
	if v := base.configMaps[0].Data["TRUSTED_PROXIES"]; !strings.EqualFold(v, "none") {
		t.Errorf("base TRUSTED_PROXIES = %q, want none: every overlay sets its ingress' network", v)
	}

	eachOverlay(t, func(t *testing.T, b *bundle, o overlay) {
		if !overlaySetsLiteral(t, b.name, "sessiond-config", "TRUSTED_PROXIES") {
			t.Errorf("overlay %s does not set TRUSTED_PROXIES in its own configMapGenerator: it would trust no proxy, and count every login under the ingress pod's address", b.name)
		}
		_, c := b.app(t)
		trusted := trustedPrefixes(t, b.configData(t, c)["TRUSTED_PROXIES"])
		if len(trusted) == 0 {
			t.Error("TRUSTED_PROXIES trusts no proxy behind an Ingress")
		}
		for _, p := range trusted {
			if p.Addr().Is4() && p.Bits() < 16 || !p.Addr().Is4() && p.Bits() < 48 {
				t.Errorf("TRUSTED_PROXIES %s is wider than /16 (IPv4) or /48 (IPv6)", p)
			}
		}

		d, _ := b.app(t)
		for _, np := range b.netpols {
			if !selectorOf(t, "NetworkPolicy "+np.Name, &np.Spec.PodSelector).Matches(labels.Set(d.Spec.Template.Labels)) {
				continue
			}
			if len(np.Spec.Ingress) == 0 {
				t.Errorf("NetworkPolicy %s lets nothing in", np.Name)
			}
			for _, rule := range np.Spec.Ingress {
				if len(rule.From) == 0 {
					t.Errorf("NetworkPolicy %s lets every pod reach the app's port: any of them could send X-Forwarded-For from the trusted network", np.Name)
				}
				for _, peer := range rule.From {
					switch {
					case peer.IPBlock != nil:
						// An ingress controller on hostNetwork: its nodes'
						// addresses, which must be trusted ones.
						block, err := netip.ParsePrefix(peer.IPBlock.CIDR)
						if err != nil || !slices.ContainsFunc(trusted, func(p netip.Prefix) bool {
							return p.Bits() <= block.Bits() && p.Contains(block.Addr())
						}) {
							t.Errorf("NetworkPolicy %s lets in ipBlock %s, which is not within TRUSTED_PROXIES %v", np.Name, peer.IPBlock.CIDR, trusted)
						}
					case peer.NamespaceSelector == nil || len(peer.NamespaceSelector.MatchLabels) == 0:
						t.Errorf("NetworkPolicy %s lets in %+v, want named namespaces (the ingress controller's, the metrics scraper's)", np.Name, peer)
					}
				}
			}
		}
	})
}

// overlaySetsLiteral tells whether the overlay's own kustomization.yaml
// gives key in the configMapGenerator named name.
func overlaySetsLiteral(tb testing.TB, overlay, name, key string) bool {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(tb), overlaysDir, overlay, "kustomization.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	var k types.Kustomization
	if err := yaml.Unmarshal(raw, &k); err != nil {
		tb.Fatalf("overlay %s kustomization.yaml: %v", overlay, err)
	}
	for _, g := range k.ConfigMapGenerator {
		if g.Name != name {
			continue
		}
		for _, l := range g.LiteralSources {
			if k, _, ok := strings.Cut(l, "="); ok && k == key {
				return true
			}
		}
	}
	return false
}
