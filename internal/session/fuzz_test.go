package session

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzTokenDecode: no cookie value may crash the decoder or be accepted
// unless it is exactly a token this key signed.
func FuzzTokenDecode(f *testing.F) {
	s := newSigner([][]byte{testKey})
	tok, _ := newToken("")
	good := s.encode(tok)
	for _, seed := range []string{good, good[:rawChars], "", ".", strings.Repeat("A", tokenChars),
		good[:rawChars] + "." + strings.Repeat("_", macChars), "%00", good + "x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, _, err := s.decode(v)
		if err != nil {
			return
		}
		if s.encode(got) != v {
			t.Fatalf("accepted %q, which re-encodes differently", v)
		}
		if len(got.selector) != selectorChars || len(got.verifier) != verifierLen {
			t.Fatalf("accepted a malformed token: %+v", got)
		}
	})
}

// FuzzDecodeRecord: whatever a store hands back (corrupt, foreign or
// hostile fields), loading never panics, never adopts a session whose
// verifier does not match, and keeps metadata out of the values.
func FuzzDecodeRecord(f *testing.F) {
	f.Add("theme", `"dark"`, "1795647554250", "1795647554250")
	f.Add("cart:apple", "3", "x", "")
	f.Add("@u", `{"a":`, "-1", "99999999999999999999")
	f.Add("", "\xff\xfe", "0", "0")
	fuzzStore, err := NewFiles(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { fuzzStore.Close() })
	fuzzManager := mustManager(f, fuzzStore, "", func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	f.Fuzz(func(t *testing.T, field, value, created, seen string) {
		if len(field)+len(value)+len(created)+len(seen) > 512 {
			return // larger inputs exercise nothing new and slow the fuzzer down
		}
		rec := Record{field: value, fieldCreated: created, fieldSeen: seen}
		vals := decodeValues(rec, slog.New(slog.NewTextHandler(io.Discard, nil)))
		for k := range vals {
			if strings.HasPrefix(k, "@") {
				t.Fatalf("metadata %q leaked into values", k)
			}
		}
		// Through a real store: a record without the right verifier hash is
		// never adopted; with it, hostile fields load without a panic.
		tok, _ := newToken("")
		good := verifierHash(tok.verifier)
		for _, h := range []string{"", "wrong", good} {
			tok, _ := newToken("")
			rec := Record{field: value, fieldCreated: created, fieldSeen: seen, fieldVerifier: h}
			if h == good {
				rec[fieldVerifier] = verifierHash(tok.verifier)
			}
			if err := fuzzStore.Create(context.Background(), fuzzManager.sessionKey(tok.selector), rec, time.Now().Add(time.Hour), IndexOps{}); err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(&http.Cookie{Name: "session", Value: fuzzManager.signer.encode(tok)})
			s, err := fuzzManager.Load(req, "session")
			if err != nil {
				t.Fatal(err)
			}
			if h != good && !s.IsNew() {
				t.Fatal("adopted a session without a matching verifier")
			}
			_ = s.Keys()
		}
	})
}
