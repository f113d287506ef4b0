// Package lbconfig renders the nginx configuration of the load balancer in
// front of the replicas, from one template, two ways:
//
//   - for docker compose (ComposeParams): nginx 1.27+ in the official image,
//     resolving the service name "app" through Docker's DNS so that
//     `docker compose up --scale app=N` needs no edit. The rendering is
//     committed as deploy/nginx/nginx.conf and a test keeps it equal.
//   - for tests on loopback (Loopback): Debian's nginx (1.22, which cannot
//     parse `resolve`) in front of fixed 127.0.0.1 addresses, with every file
//     it writes inside one folder.
//
// Everything else (balancing, retries, timeouts, headers) is the same text in
// both, so what the tests run is what compose ships.
package lbconfig

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
)

//go:embed nginx.conf.tmpl
var tmplText string

// Params are what differs between renderings. Every string is written into
// the configuration as one nginx token, so none may hold whitespace, quotes,
// braces, semicolons or '#'.
type Params struct {
	// Listen is the argument of `listen`: a port ("8080") or host:port
	// ("127.0.0.1:18004").
	Listen string
	// Servers are the upstream replicas, host:port each.
	Servers []string
	// Resolve makes nginx re-resolve the server names at run time (nginx
	// 1.27.3+ `resolve`, through Resolver); a name may then stand for many
	// replicas. Debian's nginx 1.22 rejects it.
	Resolve bool
	// Resolver is the DNS server used with Resolve (Docker's is 127.0.0.11).
	Resolver string
	// ResolverValid is how long an answer is kept with Resolve (nginx time,
	// "1s"); it bounds how late a scaled replica is noticed, and how long a
	// removed one's address is still tried.
	ResolverValid string
	// User is the `user` directive: whom the workers run as when the master
	// runs as root. Empty leaves nginx's compiled-in default.
	User string
	// PidFile, ErrorLog and AccessLog are paths (or stderr / /dev/stdout).
	PidFile, ErrorLog, AccessLog string
	// TempDir, when set, holds nginx's request and response temp folders
	// instead of the compiled-in ones (which a non-root nginx cannot write).
	// It must exist: nginx makes only the last part of each path.
	TempDir string
}

// ComposeParams is the rendering committed as deploy/nginx/nginx.conf and
// mounted into the nginx:1.27-alpine container by docker-compose.yml.
func ComposeParams() Params {
	return Params{
		Listen:        "8080",
		Servers:       []string{"app:8004"},
		Resolve:       true,
		Resolver:      "127.0.0.11",
		ResolverValid: "1s",
		PidFile:       "/var/run/nginx.pid",
		ErrorLog:      "/dev/stderr",
		AccessLog:     "/dev/stdout",
	}
}

// Loopback is the rendering for a test that runs Debian's nginx itself, as
//
//	nginx -p dir -c dir/nginx.conf -e stderr -g 'daemon off;'
//
// (the template sets no `daemon`, so -g may). The pid file, logs and temp
// folders are kept in dir. listen is host:port, servers are host:port.
// When the test runs as root, the workers run as root too, since dir (from
// t.TempDir) is not reachable by nginx's default unprivileged user.
func Loopback(dir, listen string, servers []string) Params {
	p := Params{
		Listen:    listen,
		Servers:   servers,
		PidFile:   filepath.Join(dir, "nginx.pid"),
		ErrorLog:  filepath.Join(dir, "error.log"),
		AccessLog: filepath.Join(dir, "access.log"),
		TempDir:   dir,
	}
	if os.Geteuid() == 0 {
		p.User = "root"
	}
	return p
}

// Render writes the nginx configuration for p to w.
func Render(w io.Writer, p Params) error {
	if err := p.validate(); err != nil {
		return err
	}
	t, err := template.New("nginx.conf").Option("missingkey=error").Parse(tmplText)
	if err != nil {
		return fmt.Errorf("lbconfig: parse template: %w", err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		return fmt.Errorf("lbconfig: render: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func (p Params) validate() error {
	var errs []error
	check := func(field, v string, required bool) {
		switch {
		case v == "" && required:
			errs = append(errs, fmt.Errorf("lbconfig: %s is required", field))
		case strings.ContainsAny(v, " \t\r\n\"'{};#\\$"):
			errs = append(errs, fmt.Errorf("lbconfig: %s %q is not one nginx token", field, v))
		}
	}
	check("Listen", p.Listen, true)
	if len(p.Servers) == 0 {
		errs = append(errs, errors.New("lbconfig: at least one server is required"))
	}
	for i, s := range p.Servers {
		check(fmt.Sprintf("Servers[%d]", i), s, true)
	}
	check("Resolver", p.Resolver, p.Resolve)
	check("ResolverValid", p.ResolverValid, p.Resolve)
	check("User", p.User, false)
	check("PidFile", p.PidFile, true)
	check("ErrorLog", p.ErrorLog, true)
	check("AccessLog", p.AccessLog, true)
	check("TempDir", p.TempDir, false)
	return errors.Join(errs...)
}

// NginxInstallHint says how to get the nginx that tests run.
const NginxInstallHint = "install it with: apt-get install -y nginx-light"

// NginxBinary finds Debian's nginx: on PATH, else in /usr/sbin (not on a
// non-root PATH). The error carries the install hint, for tests that must
// fail, not skip, without it.
func NginxBinary() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	const sbin = "/usr/sbin/nginx"
	if fi, err := os.Stat(sbin); err == nil && !fi.IsDir() {
		return sbin, nil
	}
	return "", fmt.Errorf("lbconfig: nginx not found on PATH or at /usr/sbin/nginx; %s", NginxInstallHint)
}
