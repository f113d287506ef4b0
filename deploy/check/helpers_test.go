package check

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The facts every deployment file must agree on.
const (
	imageRepo   = "ghcr.io/sessiond/sessiond" // one name: compose, Kubernetes, docs
	imageBinary = "/sessiond"                 // the server in the image: ENTRYPOINT, healthchecks
	appPort     = 8004                        // the server's port (ADDR default)
	healthz     = "/healthz"                  // 200 while the process runs
	readyz      = "/readyz"                   // 200 when the store answers
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

// serverCmd is the server's main package, relative to the repository:
// cmd/sessiond (the binary's name), or cmd/server where it is still
// called so.
func serverCmd(tb testing.TB) string {
	tb.Helper()
	for _, dir := range []string{"cmd/sessiond", "cmd/server"} {
		if fi, err := os.Stat(filepath.Join(repoRoot(tb), dir)); err == nil && fi.IsDir() {
			return dir
		}
	}
	tb.Fatal("no cmd/sessiond or cmd/server in the repository: cannot tell which program is the server")
	return ""
}

// serverVars are the environment variables the server's main package
// reads (every getenv("NAME") in its non-test files).
func serverVars(tb testing.TB) []string {
	tb.Helper()
	matches, _ := filepath.Glob(filepath.Join(repoRoot(tb), serverCmd(tb), "*.go"))
	seen := map[string]bool{}
	for _, m := range matches {
		if strings.HasSuffix(m, "_test.go") {
			continue
		}
		vars, err := ServerEnvVars(m)
		if err != nil && !errors.Is(err, ErrNoGetenv) {
			tb.Fatalf("cannot tell which environment variables the server reads: %v", err)
		}
		for _, v := range vars {
			seen[v] = true
		}
	}
	if len(seen) == 0 {
		tb.Fatalf("no getenv(\"NAME\") call in %s: cannot tell which environment variables the server reads", serverCmd(tb))
	}
	vars := make([]string, 0, len(seen))
	for v := range seen {
		vars = append(vars, v)
	}
	slices.Sort(vars)
	return vars
}

// checkEnv fails for each name the server does not read.
func checkEnv(tb testing.TB, where string, names []string) {
	tb.Helper()
	vars := serverVars(tb)
	for _, n := range names {
		if !EnvAllowed(n, vars) {
			tb.Errorf("%s sets %s, which the server does not read (%s reads %s)",
				where, n, serverCmd(tb), strings.Join(vars, ", "))
		}
	}
}

// serverPaths are the string literals starting with "/" in the server's
// non-test code (its main package, internal/http and the packages under
// it): the routes it registers.
func serverPaths(tb testing.TB) map[string]bool {
	tb.Helper()
	paths := map[string]bool{}
	files := 0
	for _, dir := range []string{serverCmd(tb), "internal/http"} {
		err := filepath.WalkDir(filepath.Join(repoRoot(tb), dir), func(m string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(m, ".go") || strings.HasSuffix(m, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), m, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
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
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if files == 0 {
		tb.Fatal("no Go files in the server's main package or internal/http: cannot tell the server's routes")
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
		tb.Errorf("%s probes %q, which no code in %s or internal/http names", where, path, serverCmd(tb))
	}
}
