package check

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestServerEnvVarsFixture(t *testing.T) {
	src := `package main

import "os"

func loadConfig(getenv func(string) string) {
	_ = getenv("ADDR")
	_ = orDefault(getenv("SESSION_DIR"), ".sessions")
	_ = p.duration("SHUTDOWN_DELAY", getenv("SHUTDOWN_DELAY"))
	_ = os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	_, _ = os.LookupEnv("REDIS_URL")
	_ = getenv(name)          // not a literal: not counted
	_ = lookup("NOT_A_VAR")   // not getenv: not counted
	_ = "LOG_LEVEL"           // a bare string: not counted
}
`
	path := filepath.Join(t.TempDir(), "config.go")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ServerEnvVars(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ADDR", "OTEL_EXPORTER_OTLP_ENDPOINT", "REDIS_URL", "SESSION_DIR", "SHUTDOWN_DELAY"}
	if !slices.Equal(got, want) {
		t.Errorf("ServerEnvVars = %q, want %q", got, want)
	}

	if !EnvAllowed("OTEL_SERVICE_NAME", got) || EnvAllowed("LOG_LEVEL", got) {
		t.Error("EnvAllowed: want OTEL_* allowed when one is read, LOG_LEVEL refused when not read")
	}
	if EnvAllowed("OTEL_SERVICE_NAME", []string{"ADDR"}) {
		t.Error("EnvAllowed: OTEL_* allowed although the server reads no OTEL_ variable")
	}

	empty := filepath.Join(t.TempDir(), "empty.go")
	os.WriteFile(empty, []byte("package main\nfunc f() { _ = getenv(x) }\n"), 0o644)
	if _, err := ServerEnvVars(empty); err == nil {
		t.Error("ServerEnvVars on a file with no literal getenv: want an error, not an empty list")
	}
	if _, err := ServerEnvVars(filepath.Join(t.TempDir(), "missing.go")); err == nil {
		t.Error("ServerEnvVars on a missing file: want an error")
	}
}

func TestSplitImage(t *testing.T) {
	for _, tt := range []struct{ ref, repo, tag string }{
		{"ghcr.io/sessiond/sessiond:dev", "ghcr.io/sessiond/sessiond", "dev"},
		{"ghcr.io/sessiond/sessiond", "ghcr.io/sessiond/sessiond", ""},
		{"localhost:5000/sessiond", "localhost:5000/sessiond", ""},
		{"localhost:5000/sessiond:v1", "localhost:5000/sessiond", "v1"},
		{"redis@sha256:abc", "redis", "sha256:abc"},
		{"nginx:1.27-alpine", "nginx", "1.27-alpine"},
	} {
		if repo, tag := SplitImage(tt.ref); repo != tt.repo || tag != tt.tag {
			t.Errorf("SplitImage(%q) = %q, %q; want %q, %q", tt.ref, repo, tag, tt.repo, tt.tag)
		}
	}
}

func TestParseDockerfileFixture(t *testing.T) {
	src := "# syntax=docker/dockerfile:1\nARG GO=1.26\nFROM --platform=$BUILDPLATFORM golang:1.26 AS build\n" +
		"RUN --mount=type=cache,target=/go/pkg/mod \\\n    go build \\\n    ./cmd/server\n\n" +
		"FROM scratch\n# comment\nUSER 65532\nHEALTHCHECK CMD [\"/server\", \"healthcheck\"]\n"
	st, err := ParseDockerfile([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].From != "golang:1.26" || st[0].Name != "build" || st[1].From != "scratch" {
		t.Fatalf("stages = %+v", st)
	}
	if run := st[0].Find("RUN"); len(run) != 1 || run[0].Args != "--mount=type=cache,target=/go/pkg/mod go build ./cmd/server" {
		t.Errorf("RUN = %+v", run)
	}
	if u := st[1].Find("USER"); len(u) != 1 || u[0].Args != "65532" {
		t.Errorf("USER = %+v", u)
	}
	if _, err := ParseDockerfile([]byte("RUN true\n")); err == nil {
		t.Error("a Dockerfile without FROM parsed")
	}
}
