package check

import (
	"bytes"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"syscall"
	"testing"
	"time"
)

// Placeholders for values an overlay leaves to an external Secret.
const (
	placeholderSecret   = "placeholder-0123456789abcdef0123456789abcdef0123456789abcdef"
	placeholderRedisURL = "rediss://default:placeholder@managed-redis.example.net:6380/0"
)

// buildServer builds the server's main package into a temporary folder.
func buildServer(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(imageBinary))
	cmd := exec.Command(goBin, "build", "-o", bin, "./"+serverCmd(t))
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./%s: %v\n%s", serverCmd(t), err, out)
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

	var out bytes.Buffer
	cmd := exec.Command(bin)
	cmd.Env, cmd.Stdout, cmd.Stderr = list, &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("server output:\n%s", out.String())
		}
	})

	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + healthz)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d, want 200", healthz, resp.StatusCode)
			}
			break
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("the server rejected this deployment's environment (%v)", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not answering on %s within 10s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}

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
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("after SIGTERM the server exited with %v, want 0", err)
		}
	case <-time.After(limit):
		t.Errorf("the server did not exit within %v of SIGTERM", limit)
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
