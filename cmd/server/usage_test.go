package main

import (
	"bytes"
	"context"
	"io"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestHelpListsEveryVariable: `sessiond -h` lists every variable loadConfig
// reads, each with its default, and no other; each literal default is what
// an unset variable gives, so the help cannot drift from the parser.
func TestHelpListsEveryVariable(t *testing.T) {
	var read []string
	_, _ = loadConfig(func(name string) string {
		read = append(read, name)
		return ""
	})
	var listed []string
	for _, v := range variables() {
		listed = append(listed, v.Name)
	}
	slices.Sort(read)
	read = slices.Compact(read)
	if got := slices.Sorted(slices.Values(listed)); !slices.Equal(got, read) {
		t.Fatalf("the table lists %v\nloadConfig reads %v", got, read)
	}

	var out bytes.Buffer
	if err := run(context.Background(), []string{"sessiond", "-h"}, env(), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	for _, want := range []string{"usage: sessiond", "sessiond healthcheck", "sessiond version",
		"  ADDR=0.0.0.0:8004\n", "  SESSION_LIFETIME=24h\n", "  SESSION_IDLE_TIMEOUT=1h\n", "  LOGIN_RATE_LIMIT=10\n",
		"  REDIS_KEY_PREFIX=\n", "  REPLICA_ID (host name)\n", "  SESSION_SECRET (unset)\n"} {
		if !strings.Contains(help, want) {
			t.Errorf("-h lacks %q:\n%s", want, help)
		}
	}
	for _, v := range variables() {
		if !strings.Contains(help, "  "+v.Name+"=") && !strings.Contains(help, "  "+v.Name+" (") || !strings.Contains(help, v.Meaning) {
			t.Errorf("-h lacks %s with its meaning", v.Name)
		}
	}

	// With an endpoint set, so that the OTEL_* defaults matter too.
	base := []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}
	unset, err := loadConfig(env(base...))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range variables() {
		if strings.HasPrefix(v.Default, "(") {
			continue
		}
		got, err := loadConfig(env(append([]string{v.Name, v.Default}, base...)...))
		if err != nil || !reflect.DeepEqual(got, unset) {
			t.Errorf("%s=%q (its documented default) gives %+v, %v; unset gives %+v", v.Name, v.Default, got, err, unset)
		}
	}
}

// TestVersion: `sessiond version` prints the build information.
func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"sessiond", "version"}, env(), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	b := readBuildInfo()
	for _, want := range []string{"sessiond " + b.Version + "\n", "module    github.com/sessiond/sessiond",
		"revision  " + b.Revision + "\n", "time      ", "modified  ", "go        " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version lacks %q:\n%s", want, out.String())
		}
	}
}
