package procs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// ServerPackage is the service's main package, as `go build` takes it from
// anywhere inside the repository's modules that require it.
const ServerPackage = "github.com/sessiond/sessiond/cmd/server"

// Build runs `go build flags... -o out pkg` in dir ("" is the current
// folder) with the installed toolchain (GOTOOLCHAIN=local) and without cgo,
// as the Makefile and the Dockerfile build the binary that ships. Built
// without the race detector: the servers are the system under test, and
// race-instrumented replicas would starve two cores.
func Build(ctx context.Context, dir, out, pkg string, flags ...string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := append([]string{"build"}, flags...)
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}
