package e2e

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sessiond/sessiond/internal/procs"
)

// serverBinary is cmd/server, built once by TestMain for every test here
// ("" under -short, where every test that runs it skips).
var serverBinary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "sessiond-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	serverBinary = filepath.Join(dir, "sessiond")
	if err := procs.Build(context.Background(), "", serverBinary, procs.ServerPackage); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}

var fallbackOutput = sync.OnceValues(func() (string, error) {
	return os.MkdirTemp("", "sessiond-test-output-")
})

// outputDir is where screenshots and failure logs go: $TEST_OUTPUT (the
// Makefile sets it to <repo>/test-output), else a temp folder that is kept
// after the run. The path is logged.
func outputDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("TEST_OUTPUT")
	if dir == "" {
		var err error
		if dir, err = fallbackOutput(); err != nil {
			t.Fatalf("test output folder: %v", err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("test output folder: %v", err)
	}
	return dir
}

// keepLogsOnFailure copies the files of dir into the output folder, under
// e2e-logs/<test name>, when the test has failed. Register it before the
// processes that write into dir start, so it runs after they have ended.
func keepLogsOnFailure(t *testing.T, dir string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		dst := filepath.Join(outputDir(t), "e2e-logs", strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
		if err := copyTree(dir, dst); err != nil {
			t.Logf("keeping logs: %v", err)
			return
		}
		t.Logf("process logs: %s", dst)
	})
}

// copyTree copies the folders and regular files under src.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(filepath.Join(dst, rel))
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
