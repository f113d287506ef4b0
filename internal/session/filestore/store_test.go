package filestore

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

// The contract suite against a folder of its own per test.
func TestContract(t *testing.T) {
	sessiontest.Run(t, func(t testing.TB) (session.Backend, string) {
		return mustOpen(t, t.TempDir()), ""
	})
}

// mustOpen opens a store in dir, closed when the test ends.
func mustOpen(tb testing.TB, dir string) *Store {
	tb.Helper()
	f, err := New(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

func TestFilesAnonymousRequestsStoreNothing(t *testing.T) {
	dir := t.TempDir()
	f := mustOpen(t, dir)
	a := sessiontest.NewApp(t, sessiontest.MustManager(t, f, "", nil))
	for _, p := range []string{"/nothing", "/get/x", "/user"} {
		if _, set := a.Do("GET", p, ""); set != "" {
			t.Errorf("anonymous %s set a cookie", p)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "data")); len(entries) != 0 {
		t.Errorf("anonymous requests stored %d files", len(entries))
	}
}
