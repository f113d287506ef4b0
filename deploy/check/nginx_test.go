package check

import (
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// The balancer's configuration is rendered from internal/lbconfig's
// template; the service module's tests keep deploy/nginx/nginx.conf equal to
// that rendering and run `nginx -t` on the loopback one. This module does
// not import lbconfig (a replace of the service module would tie this go.mod
// to every change of the service's), so it reads the committed file.
const nginxConfFile = "deploy/nginx/nginx.conf"

// nginxDirectives returns the arguments of each `name ...;` directive in
// conf, comments removed.
func nginxDirectives(conf, name string) [][]string {
	var out [][]string
	re := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + `(\s+[^;{#]*)?;`)
	for _, line := range strings.Split(conf, "\n") {
		line, _, _ = strings.Cut(line, "#")
		if m := re.FindStringSubmatch(line); m != nil {
			out = append(out, strings.Fields(m[1]))
		}
	}
	return out
}

// TestComposeNginxConf: the committed balancer configuration fits the
// compose file: it listens on the port lb publishes, balances over the app
// service on the app's port, re-resolving it (for --scale) through Docker's
// DNS, round-robin without affinity or upstream keepalive.
func TestComposeNginxConf(t *testing.T) {
	conf := string(readRepoFile(t, nginxConfFile))
	lb := service(t, mustLoadCompose(t), "lb")

	listen := nginxDirectives(conf, "listen")
	if len(listen) != 1 {
		t.Fatalf("%s has %d listen directives, want 1", nginxConfFile, len(listen))
	}
	if !slices.ContainsFunc(lb.Ports, func(p types.ServicePortConfig) bool {
		return p.Published == strconv.Itoa(appPort) && strconv.Itoa(int(p.Target)) == listen[0][0]
	}) {
		t.Errorf("nginx listens on %s, but lb publishes %+v: want %d published to it", listen[0][0], lb.Ports, appPort)
	}

	servers := nginxDirectives(conf, "server")
	if len(servers) != 1 {
		t.Fatalf("upstream servers %v, want one (the app service, resolved)", servers)
	}
	host, port, err := net.SplitHostPort(servers[0][0])
	if err != nil || host != "app" || port != strconv.Itoa(appPort) {
		t.Errorf("upstream server %q, want app:%d", servers[0][0], appPort)
	}
	if !slices.Contains(servers[0], "resolve") {
		t.Error("upstream server lacks `resolve`: `docker compose up --scale app=N` would not be picked up")
	}
	if r := nginxDirectives(conf, "resolver"); len(r) != 1 || r[0][0] != "127.0.0.11" {
		t.Errorf("resolver %v, want Docker's DNS 127.0.0.11", r)
	}
	if len(nginxDirectives(conf, "zone")) != 1 {
		t.Error("upstream has no zone (resolve needs one)")
	}
	for _, d := range []string{"keepalive", "ip_hash", "hash", "sticky"} {
		if len(nginxDirectives(conf, d)) != 0 {
			t.Errorf("%s has %q: want round-robin without affinity or upstream keepalive", nginxConfFile, d)
		}
	}
}
