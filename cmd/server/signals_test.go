package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/redistest"
)

// logRecord finds the first JSON log line with msg in logs.
func logRecord(t *testing.T, logs, msg string) map[string]any {
	t.Helper()
	recs := logRecords(logs, msg)
	if len(recs) == 0 {
		t.Fatalf("no %q line in the log:\n%s", msg, logs)
	}
	return recs[0]
}

// logRecords are the JSON log lines with msg.
func logRecords(logs, msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// strs is a JSON list (a log attribute) as strings.
func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, e := range list {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// fingerprintsOf reads the start-up line "signing keys".
func fingerprintsOf(t *testing.T, s *server) (signing string, verifying []string) {
	t.Helper()
	rec := logRecord(t, s.logs.String(), "signing keys")
	signing, _ = rec["signing"].(string)
	return signing, strs(rec["verifying"])
}

// TestSigningKeyFingerprintsLogged: every replica logs at start the
// fingerprint of each signing key, the first being the one that signs, so
// an operator sees two replicas disagree; the keys themselves are not
// logged, and the documented shell command gives the same fingerprint.
func TestSigningKeyFingerprintsLogged(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	keyA := "fingerprint-key-a-0123456789abcdef0123456789"
	keyB := "fingerprint-key-b-fedcba9876543210fedcba9876"
	want := func(key string) string {
		sum := sha256.Sum256([]byte("sessiond signing key:" + key))
		return hex.EncodeToString(sum[:])[:8]
	}
	common := []string{"REDIS_URL", rs.URL(), "REDIS_KEY_PREFIX", redistest.Prefix(t)}
	a := startRun(t, append(common, "SESSION_SECRET", keyA, "REPLICA_ID", "a")...)
	b := startRun(t, append(common, "SESSION_SECRET", keyB+","+keyA, "REPLICA_ID", "b")...)
	wrong := startRun(t, append(common, "SESSION_SECRET", keyB, "REPLICA_ID", "wrong")...)

	if s, v := fingerprintsOf(t, a); s != want(keyA) || !slices.Equal(v, []string{want(keyA)}) {
		t.Errorf("a: signing %s verifying %v, want %s", s, v, want(keyA))
	}
	if s, v := fingerprintsOf(t, b); s != want(keyB) || !slices.Equal(v, []string{want(keyB), want(keyA)}) {
		t.Errorf("b: signing %s verifying %v, want %s then %s", s, v, want(keyB), want(keyA))
	}
	if s, _ := fingerprintsOf(t, wrong); s == want(keyA) {
		t.Error("two different keys have one fingerprint")
	}
	for _, s := range []*server{a, b, wrong} {
		if piece := leaked(s.logs.String(), keyA, 12) + leaked(s.logs.String(), keyB, 12); piece != "" {
			t.Errorf("a key is in the log: %q", piece)
		}
	}

	cmd := exec.Command("sh", "-c", `printf 'sessiond signing key:%s' "$KEY" | sha256sum | cut -c1-8`)
	cmd.Env = []string{"KEY=" + keyA, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != want(keyA) {
		t.Errorf("the documented command gives %q (%v), want %s", out, err, want(keyA))
	}
}

// TestFingerprintOfGeneratedKey: the filesystem store's generated key is
// fingerprinted too.
func TestFingerprintOfGeneratedKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startRun(t, "SESSION_DIR", dir)
	key, err := os.ReadFile(filepath.Join(dir, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	if signing, _ := fingerprintsOf(t, s); signing != keyFingerprint([]byte(strings.TrimSpace(string(key)))) {
		t.Errorf("signing %s, want the generated key's", signing)
	}
}

// TestGoRedisLogsAreJSON: go-redis' own lines (here: it cannot dial a
// Redis that refuses connections) come out as JSON records of the log,
// not as "redis: 2026/12/01 ... pool.go:770: ..." text on stderr. A child
// process: go-redis' logger is process-wide.
func TestGoRedisLogsAreJSON(t *testing.T) {
	t.Parallel()
	refused := fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t))
	s := startMain(t, "REDIS_URL", "redis://"+refused+"/0", "SESSION_SECRET", goodSecret, "REDIS_TIMEOUT", "200ms")
	if res, _, _ := call(t, "GET", s.url+"/readyz", "", nil); res.StatusCode != 503 {
		t.Fatalf("readyz with Redis refusing: %d", res.StatusCode)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	logs := s.logs.String()
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("not a JSON line: %q", line)
		}
	}
	rec := logRecord(t, logs, "go-redis")
	if detail, _ := rec["detail"].(string); rec["level"] != "WARN" || !strings.Contains(detail, "dial") || !strings.Contains(detail, refused) {
		t.Errorf("go-redis record: %v", rec)
	}
}
