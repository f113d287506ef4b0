package check

import (
	"context"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const composeFile = "docker-compose.yml"

// loadCompose loads docker-compose.yml as `docker compose` does (schema,
// interpolation, normalization), with env as the whole environment: neither
// the test's own environment nor a developer's .env leaks in.
func loadCompose(tb testing.TB, env ...string) (*types.Project, error) {
	tb.Helper()
	root := repoRoot(tb)
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, composeFile)},
		cli.WithWorkingDirectory(root),
		cli.WithEnv(env),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		tb.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func mustLoadCompose(tb testing.TB) *types.Project {
	tb.Helper()
	p, err := loadCompose(tb, "SESSION_SECRET=test-secret-0123456789abcdef0123456789abcdef")
	if err != nil {
		tb.Fatalf("docker compose would reject %s: %v", composeFile, err)
	}
	return p
}

func service(tb testing.TB, p *types.Project, name string) types.ServiceConfig {
	tb.Helper()
	s, ok := p.Services[name]
	if !ok {
		tb.Fatalf("%s has no service %q", composeFile, name)
	}
	return s
}

func TestComposeRequiresSessionSecret(t *testing.T) {
	for _, env := range [][]string{nil, {"SESSION_SECRET="}} {
		_, err := loadCompose(t, env...)
		if err == nil {
			t.Fatalf("with environment %q, %s loads: want an error naming SESSION_SECRET", env, composeFile)
		}
		if msg := err.Error(); !strings.Contains(msg, "SESSION_SECRET") || !strings.Contains(msg, ".env.example") {
			t.Errorf("error without SESSION_SECRET = %q, want one naming SESSION_SECRET and .env.example", msg)
		}
	}
}

func TestComposeRedis(t *testing.T) {
	p := mustLoadCompose(t)
	r := service(t, p, "redis")
	if repo, tag := SplitImage(r.Image); repo != "redis" || !strings.HasPrefix(tag, "7") {
		t.Errorf("redis image = %q, want redis:7-*", r.Image)
	}
	if !hasArgs(r.Command, "--appendonly", "yes") {
		t.Errorf("redis command = %q, want --appendonly yes", r.Command)
	}
	var data *types.ServiceVolumeConfig
	for i, v := range r.Volumes {
		if v.Target == "/data" {
			data = &r.Volumes[i]
		}
	}
	if data == nil || data.Type != types.VolumeTypeVolume {
		t.Fatalf("redis volumes = %+v, want a named volume at /data", r.Volumes)
	}
	if _, ok := p.Volumes[data.Source]; !ok {
		t.Errorf("redis volume %q is not declared under top-level volumes", data.Source)
	}
	if hc := r.HealthCheck; hc == nil || hc.Disable || !slices.Equal(hc.Test, types.HealthCheckTest{"CMD", "redis-cli", "ping"}) {
		t.Errorf("redis healthcheck = %+v, want CMD redis-cli ping", hc)
	}
	checkRestart(t, r)
}

func TestComposeApp(t *testing.T) {
	p := mustLoadCompose(t)
	app := service(t, p, "app")

	if app.Build == nil || app.Build.Context != repoRoot(t) {
		t.Errorf("app build = %+v, want the repository root (its Dockerfile)", app.Build)
	}
	if repo, tag := SplitImage(app.Image); repo != imageRepo || tag == "" {
		t.Errorf("app image = %q, want %s:<tag> (the name the Kubernetes manifests use)", app.Image, imageRepo)
	}
	if app.Deploy == nil || app.Deploy.Replicas == nil || *app.Deploy.Replicas != 3 {
		t.Errorf("app deploy.replicas = %v, want 3", app.Deploy)
	}
	if hc := app.HealthCheck; hc == nil || hc.Disable || !slices.Equal(hc.Test, types.HealthCheckTest{"CMD", imageBinary, "healthcheck"}) {
		t.Errorf("app healthcheck = %+v, want CMD %s healthcheck (the image has no shell)", hc, imageBinary)
	}
	if d, ok := app.DependsOn["redis"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("app depends_on redis = %+v, want condition service_healthy", d)
	}
	checkRestart(t, app)
	if !app.ReadOnly {
		t.Error("app is not read_only: the image must run on a read-only root filesystem")
	}
	if len(app.Ports) != 0 {
		t.Errorf("app publishes %v: replicas cannot share a host port; only lb publishes", app.Ports)
	}

	env := envOf(app)
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	checkEnv(t, "docker-compose.yml service app", names)
	if got := env["REDIS_URL"]; got != "redis://redis:6379/0" {
		t.Errorf("REDIS_URL = %q, want redis://redis:6379/0 (the redis service)", got)
	}
	if got := env["SESSION_SECRET"]; got == "" {
		t.Error("SESSION_SECRET is not passed to the app")
	}
	if addr, ok := env["ADDR"]; ok {
		checkAddrPort(t, "compose ADDR", addr)
	}

	// TRUSTED_PROXIES: the balancer, nothing wider (TestComposeTrustsOnlyTheBalancer).
	if _, ok := env["TRUSTED_PROXIES"]; !ok {
		t.Error("TRUSTED_PROXIES is not set: the replicas would not believe the balancer's X-Forwarded-For")
	}

	// Docker waits stop_grace_period for SIGTERM to end the process.
	delay, timeout := mustDuration(t, env, "SHUTDOWN_DELAY"), mustDuration(t, env, "SHUTDOWN_TIMEOUT")
	if app.StopGracePeriod == nil || time.Duration(*app.StopGracePeriod) <= delay+timeout {
		t.Errorf("stop_grace_period = %v, want more than SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT = %v", app.StopGracePeriod, delay+timeout)
	}
}

func TestComposeLoadBalancer(t *testing.T) {
	p := mustLoadCompose(t)
	lb := service(t, p, "lb")

	repo, tag := SplitImage(lb.Image)
	if repo != "nginx" || !nginxAtLeast(tag, 1, 27) {
		t.Errorf("lb image = %q, want nginx 1.27+ (upstream `resolve`)", lb.Image)
	}
	var mounted bool
	for _, v := range lb.Volumes {
		if v.Target == "/etc/nginx/nginx.conf" && v.Source == filepath.Join(repoRoot(t), nginxConfFile) && v.ReadOnly {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("lb volumes = %+v, want ./%s mounted read-only at /etc/nginx/nginx.conf", lb.Volumes, nginxConfFile)
	}
	if d, ok := lb.DependsOn["app"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("lb depends_on app = %+v, want condition service_healthy", d)
	}
	checkRestart(t, lb)
}

// TestEnvExampleDocumentsEveryVariable: each ${VAR} the compose file
// interpolates is explained in .env.example.
func TestEnvExampleDocumentsEveryVariable(t *testing.T) {
	compose := readRepoFile(t, composeFile)
	example := string(readRepoFile(t, ".env.example"))
	vars := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(string(compose), -1)
	if len(vars) == 0 {
		t.Fatalf("%s interpolates no variable (SESSION_SECRET should come from the environment)", composeFile)
	}
	for _, m := range vars {
		if !regexp.MustCompile(`(?m)^#?` + m[1] + `=`).MatchString(example) {
			t.Errorf("%s uses ${%s}, which .env.example does not show", composeFile, m[1])
		}
	}
	if !regexp.MustCompile(`(?m)^SESSION_SECRET=`).MatchString(example) {
		t.Error(".env.example does not have an uncommented SESSION_SECRET= line")
	}
}

func checkRestart(tb testing.TB, s types.ServiceConfig) {
	tb.Helper()
	if s.Restart != types.RestartPolicyUnlessStopped && s.Restart != types.RestartPolicyAlways {
		tb.Errorf("service %s restart = %q, want unless-stopped", s.Name, s.Restart)
	}
}

func envOf(s types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		} else {
			env[k] = ""
		}
	}
	return env
}

func hasArgs(cmd []string, args ...string) bool {
	for i := range cmd {
		if i+len(args) <= len(cmd) && slices.Equal(cmd[i:i+len(args)], args) {
			return true
		}
	}
	return false
}

func mustDuration(tb testing.TB, env map[string]string, name string) time.Duration {
	tb.Helper()
	d, err := time.ParseDuration(env[name])
	if err != nil {
		tb.Fatalf("%s = %q: %v", name, env[name], err)
	}
	return d
}

func checkAddrPort(tb testing.TB, where, addr string) {
	tb.Helper()
	if _, port, err := net.SplitHostPort(addr); err != nil || port != strconv.Itoa(appPort) {
		tb.Errorf("%s = %q, want port %d", where, addr, appPort)
	}
}

// nginxAtLeast reads the version from an image tag such as 1.27-alpine.
func nginxAtLeast(tag string, major, minor int) bool {
	v, _, _ := strings.Cut(tag, "-")
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	return err1 == nil && err2 == nil && (ma > major || ma == major && mi >= minor)
}
