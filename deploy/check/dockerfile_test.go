package check

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestDockerfile(t *testing.T) {
	stages, err := ParseDockerfile(readRepoFile(t, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s), want a build stage and a small final one", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	if repo, tag := SplitImage(build.From); repo != "golang" || !strings.HasPrefix(tag, "1.26") {
		t.Errorf("build stage FROM %q, want golang:1.26 (go.mod's Go)", build.From)
	}
	var buildCmd string
	for _, in := range build.Find("RUN") {
		if strings.Contains(in.Args, "go build") {
			buildCmd = in.Args
		}
	}
	for _, want := range []string{"--mount=type=cache,target=/go/pkg/mod", "-trimpath", "-s -w", "./cmd/server"} {
		if !strings.Contains(buildCmd, want) {
			t.Errorf("go build step %q lacks %q", buildCmd, want)
		}
	}
	var static bool
	for _, in := range build.Find("ENV") {
		static = static || strings.Contains(in.Args, "CGO_ENABLED=0")
	}
	if !static && !strings.Contains(buildCmd, "CGO_ENABLED=0") {
		t.Error("the build does not set CGO_ENABLED=0: the binary would not be static")
	}

	repo, tag := SplitImage(final.From)
	if !(repo == "scratch" || strings.HasPrefix(repo, "gcr.io/distroless/static")) {
		t.Errorf("final stage FROM %q, want distroless static or scratch", final.From)
	}
	if repo != "scratch" && !strings.Contains(tag, "nonroot") {
		t.Errorf("final stage FROM %q, want the :nonroot variant", final.From)
	}
	users := final.Find("USER")
	if len(users) == 0 {
		t.Error("final stage has no USER: it would run as root")
	} else if u, _, _ := strings.Cut(users[len(users)-1].Args, ":"); u == "root" || u == "0" {
		t.Errorf("final stage USER %q, want non-root", users[len(users)-1].Args)
	}
	var exposed bool
	for _, in := range final.Find("EXPOSE") {
		exposed = exposed || slices.Contains(strings.Fields(in.Args), strconv.Itoa(appPort))
	}
	if !exposed {
		t.Errorf("final stage does not EXPOSE %d", appPort)
	}
	checkExecForm(t, final, "HEALTHCHECK", []string{"/sessiond", "healthcheck"})
	checkExecForm(t, final, "ENTRYPOINT", []string{"/sessiond"})

	var envNames []string
	for _, in := range final.Find("ENV") {
		for _, f := range strings.Fields(in.Args) {
			if k, _, ok := strings.Cut(f, "="); ok {
				envNames = append(envNames, k)
			}
		}
	}
	checkEnv(t, "Dockerfile final stage ENV", envNames)
}

// checkExecForm: the last cmd instruction ends in a JSON exec form equal to
// want (no shell in the image to run a shell form).
func checkExecForm(tb testing.TB, st Stage, cmd string, want []string) {
	tb.Helper()
	ins := st.Find(cmd)
	if len(ins) == 0 {
		tb.Errorf("final stage has no %s", cmd)
		return
	}
	args := ins[len(ins)-1].Args
	i := strings.Index(args, "[")
	var got []string
	if i < 0 || json.Unmarshal([]byte(args[i:]), &got) != nil || !slices.Equal(got, want) {
		tb.Errorf("%s %s, want exec form %q", cmd, args, want)
	}
}

func TestDockerignore(t *testing.T) {
	lines := strings.Split(string(readRepoFile(t, ".dockerignore")), "\n")
	for _, want := range []string{".git", ".env"} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.TrimPrefix(strings.TrimSpace(l), "/") == want }) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}
