package e2e

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/procs"
)

// Releases built from the repository's own history, for the tests that run
// one next to this build.

// previousReleaseFile names the commit of the previous release: its first
// line that is neither empty nor a # comment. PREVIOUS_RELEASE, when set,
// names another commit instead (any form git rev-parse takes).
const previousReleaseFile = "testdata/previous-release"

// previousRelease is the full hash of the previous release's commit. It
// fails the test when the file is unreadable or git does not know the
// commit (a shallow clone: git fetch --unshallow).
func previousRelease(t *testing.T) string {
	t.Helper()
	rev := os.Getenv("PREVIOUS_RELEASE")
	from := "PREVIOUS_RELEASE"
	if rev == "" {
		var err error
		if rev, err = readReleaseFile(previousReleaseFile); err != nil {
			t.Fatal(err)
		}
		from = previousReleaseFile
	}
	hash, err := resolveCommit(rev)
	if err != nil {
		t.Fatalf("previous release %q (from %s): %v", rev, from, err)
	}
	return hash
}

func readReleaseFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("previous release: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			return line, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("previous release: %s: %w", path, err)
	}
	return "", fmt.Errorf("previous release: %s names no commit", path)
}

var fullHash = regexp.MustCompile(`^[0-9a-f]{40}$`)

// resolveCommit is rev's full commit hash, from the repository this test
// runs in.
func resolveCommit(rev string) (string, error) {
	out, err := git("rev-parse", "--verify", "--end-of-options", rev+"^{commit}")
	if err != nil {
		if shallow, _ := git("rev-parse", "--is-shallow-repository"); strings.TrimSpace(shallow) == "true" {
			err = fmt.Errorf("%w\nthis clone is shallow: git fetch --unshallow brings the history", err)
		}
		return "", err
	}
	hash := strings.TrimSpace(out)
	if !fullHash.MatchString(hash) {
		return "", fmt.Errorf("git rev-parse gave %q, not a commit hash", hash)
	}
	return hash, nil
}

// git runs git in the test's folder (inside the repository) and returns
// its standard output; the error carries its standard error.
func git(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

var releaseBuilds = struct {
	mu   sync.Mutex
	bins map[string]string
}{bins: map[string]string{}}

// releaseBinary is cmd/server as built from commit (a full hash): the
// commit's tree (git archive) is built in a temp folder with the installed
// toolchain and without cgo, as this build is (not -trimpath: the two
// then share the build cache), and kept under the user's cache folder
// (sessiond/releases/<hash>/sessiond), so later runs start at once. It fails the test when git or go fails, with their output.
func releaseBinary(t *testing.T, commit string) string {
	t.Helper()
	releaseBuilds.mu.Lock()
	defer releaseBuilds.mu.Unlock()
	if bin, ok := releaseBuilds.bins[commit]; ok {
		return bin
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin := filepath.Join(cache, "sessiond", "releases", commit, "sessiond")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o100 != 0 {
		t.Logf("release %s: cached build %s", commit[:7], bin)
		releaseBuilds.bins[commit] = bin
		return bin
	}
	start := time.Now()
	if err := buildRelease(commit, bin); err != nil {
		t.Fatalf("release %s: %v", commit, err)
	}
	t.Logf("release %s: built from history in %v: %s", commit[:7], time.Since(start).Round(time.Millisecond), bin)
	releaseBuilds.bins[commit] = bin
	return bin
}

func buildRelease(commit, bin string) error {
	top, err := git("rev-parse", "--show-toplevel")
	if err != nil {
		return err
	}
	src, err := os.MkdirTemp("", "sessiond-release-"+commit[:7]+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	if err := archive(strings.TrimSpace(top), commit, src); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return err
	}
	// Built beside its final name, then renamed: a run that stops half-way
	// leaves no binary that looks whole.
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	defer os.Remove(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := procs.Build(ctx, src, tmp, "./cmd/server"); err != nil {
		return err
	}
	return os.Rename(tmp, bin)
}

// archive writes the tree of commit, from the repository at top, into dir.
func archive(top, commit, dir string) error {
	cmd := exec.Command("git", "-C", top, "archive", "--format=tar", commit)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git archive: %w", err)
	}
	xerr := untar(out, dir)
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git archive %s: %w\n%s", commit, err, stderr.String())
	}
	return xerr
}

func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("git archive: %w", err)
		}
		name := filepath.Clean(h.Name)
		if !filepath.IsLocal(name) {
			continue // the pax header's comment, or anything outside dir
		}
		path := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(path, 0o755)
		case tar.TypeReg:
			err = writeFile(path, tr, os.FileMode(h.Mode)&0o755|0o600)
		case tar.TypeSymlink:
			if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
				err = os.Symlink(h.Linkname, path)
			}
		}
		if err != nil {
			return fmt.Errorf("git archive: %s: %w", h.Name, err)
		}
	}
}

func writeFile(path string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
