package check

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The facts every deployment file must agree on.
const (
	imageRepo = "ghcr.io/sessiond/sessiond" // one name: compose, Kubernetes, docs
	appPort   = 8004                        // the server's port (ADDR default)
	healthz   = "/healthz"                  // 200 while the process runs
	readyz    = "/readyz"                   // 200 when the store answers
)

var rootOnce = sync.OnceValues(func() (string, error) { return filepath.Abs("../..") })

// repoRoot is the service's repository: two levels above this module.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := rootOnce()
	if err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.Contains(string(b), "module github.com/sessiond/sessiond\n") {
		tb.Fatalf("%s is not the sessiond repository (go.mod: %v)", root, err)
	}
	return root
}

func readRepoFile(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(tb), rel))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// serverVars are the environment variables cmd/server/config.go reads.
func serverVars(tb testing.TB) []string {
	tb.Helper()
	path := filepath.Join(repoRoot(tb), "cmd", "server", "config.go")
	vars, err := ServerEnvVars(path)
	if err != nil {
		tb.Fatalf("cannot tell which environment variables the server reads: %v", err)
	}
	return vars
}

// checkEnv fails for each name the server does not read.
func checkEnv(tb testing.TB, where string, names []string) {
	tb.Helper()
	vars := serverVars(tb)
	for _, n := range names {
		if !EnvAllowed(n, vars) {
			tb.Errorf("%s sets %s, which the server does not read (cmd/server/config.go reads %s)",
				where, n, strings.Join(vars, ", "))
		}
	}
}

// serverPaths are the string literals starting with "/" in the server's
// non-test code (cmd/server, internal/http): the routes it registers.
func serverPaths(tb testing.TB) map[string]bool {
	tb.Helper()
	paths := map[string]bool{}
	files := 0
	for _, dir := range []string{"cmd/server", "internal/http"} {
		matches, _ := filepath.Glob(filepath.Join(repoRoot(tb), dir, "*.go"))
		for _, m := range matches {
			if strings.HasSuffix(m, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), m, nil, parser.SkipObjectResolution)
			if err != nil {
				tb.Fatal(err)
			}
			files++
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(s, "/") {
						paths[s] = true
					}
				}
				return true
			})
		}
	}
	if files == 0 {
		tb.Fatal("no Go files in cmd/server or internal/http: cannot tell the server's routes")
	}
	return paths
}

// checkRoute fails unless path is both the contract's route and one the
// server's code registers.
func checkRoute(tb testing.TB, where, path, want string) {
	tb.Helper()
	if path != want {
		tb.Errorf("%s probes %q, want %q", where, path, want)
		return
	}
	if !serverPaths(tb)[path] {
		tb.Errorf("%s probes %q, which no code in cmd/server or internal/http names", where, path)
	}
}
