package check

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/procs"
)

// Placeholders for values an overlay leaves to an external Secret.
const (
	placeholderSecret   = "placeholder-0123456789abcdef0123456789abcdef0123456789abcdef"
	placeholderRedisURL = "rediss://default:placeholder@managed-redis.example.net:6380/0"
)

// buildServer builds the server's main package into a temporary folder.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(imageBinary))
	if err := procs.Build(context.Background(), repoRoot(t), bin, "./"+serverCmd(t)); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestServerAcceptsDeploymentEnv starts the real server with the
// environment each deployment gives it (compose's app service, each
// overlay's ConfigMap, env and Secret): it must accept the configuration
// (a bad value exits 2), answer its probes, let `sessiond healthcheck` pass,
// and stop cleanly on SIGTERM. Only the listen address and Redis' host are
// moved to loopback; Redis is absent, so /readyz must say 503.
func TestServerAcceptsDeploymentEnv(t *testing.T) {
	envs := map[string]map[string]string{"compose": envOf(service(t, mustLoadCompose(t), "app"))}
	for name, o := range overlays {
		b := build(t, name)
		_, c := b.app(t)
		env := b.configData(t, c)
		for _, e := range c.Env {
			switch {
			case e.ValueFrom == nil:
				env[e.Name] = e.Value
			case e.ValueFrom.FieldRef != nil:
				env[e.Name] = "sessiond-7d9f-abcde"
			case e.ValueFrom.SecretKeyRef != nil:
				v, ok := b.secretValue(e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
				if !ok && o.externalSecret {
					v = map[string]string{"SESSION_SECRET": placeholderSecret, "REDIS_URL": placeholderRedisURL}[e.Name]
				}
				env[e.Name] = v
			}
		}
		envs["k8s-"+name] = env
	}
	bin := buildServer(t)
	for name, env := range envs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runWithEnv(t, bin, env)
		})
	}
}

func runWithEnv(t *testing.T, bin string, deployed map[string]string) {
	env := map[string]string{}
	for k, v := range deployed {
		env[k] = v
	}
	addr := freeAddr(t)
	env["ADDR"] = addr
	if raw, ok := env["REDIS_URL"]; ok {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("REDIS_URL %q: %v", raw, err)
		}
		u.Host = freeAddr(t) // nothing listens: Redis is down
		env["REDIS_URL"] = u.String()
	}
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)

	var out procs.SyncBuffer // written by the process' copier
	base := "http://" + addr
	// procs.StartServer: the helper every test uses to start the built
	// binary and wait until /healthz answers 200.
	p, err := procs.StartServer(procs.Server{Name: "sessiond", Bin: bin, Env: list, Out: &out, URL: base})
	if err != nil {
		t.Fatalf("the server rejected this deployment's environment, or did not answer %s: %v\n%s", healthz, err, out.String())
	}
	t.Cleanup(func() {
		p.Stop(syscall.SIGKILL, time.Second)
		if t.Failed() {
			t.Logf("server output:\n%s", out.String())
		}
	})

	resp, err := http.Get(base + readyz)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET %s with Redis down = %d, want 503", readyz, resp.StatusCode)
	}

	hc := exec.Command(bin, "healthcheck")
	hc.Env = list
	if b, err := hc.CombinedOutput(); err != nil {
		t.Errorf("sessiond healthcheck with this environment: %v\n%s", err, b)
	}

	// SIGTERM: exits 0 within SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT.
	limit := 2 * time.Second
	for _, k := range []string{"SHUTDOWN_DELAY", "SHUTDOWN_TIMEOUT"} {
		if d, err := time.ParseDuration(env[k]); err == nil {
			limit += d
		}
	}
	p.Signal(syscall.SIGTERM)
	if !p.Wait(limit) {
		t.Errorf("the server did not exit within %v of SIGTERM", limit)
	} else if st := p.ExitStatus(); st != "exit status 0" {
		t.Errorf("after SIGTERM the server exited with %s, want 0", st)
	}
}

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
