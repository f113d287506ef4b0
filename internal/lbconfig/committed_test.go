package lbconfig

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// composeConfFile is the rendering docker-compose.yml mounts into nginx.
var composeConfFile = filepath.Join("..", "..", "deploy", "nginx", "nginx.conf")

var update = flag.Bool("update", false, "rewrite deploy/nginx/nginx.conf from the template")

// TestCommittedComposeConf: the file compose mounts is the template's
// compose rendering, byte for byte, so it differs from the loopback
// rendering the tests run only in Params.
func TestCommittedComposeConf(t *testing.T) {
	var want bytes.Buffer
	if err := Render(&want, ComposeParams()); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(composeConfFile, want.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(composeConfFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("deploy/nginx/nginx.conf differs from the template's compose rendering; edit " +
			"internal/lbconfig/nginx.conf.tmpl, not the file, then run: go test ./internal/lbconfig -run TestCommittedComposeConf -update")
	}
}
