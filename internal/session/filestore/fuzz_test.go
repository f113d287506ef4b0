package filestore

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

// FuzzDecodeRecord: whatever a store hands back (corrupt, foreign or
// hostile fields), loading never panics, never adopts a session whose
// verifier does not match, and keeps metadata out of the values.
func FuzzDecodeRecord(f *testing.F) {
	f.Add("theme", `"dark"`, "1795647554250", "1795647554250")
	f.Add("cart:apple", "3", "x", "")
	f.Add("@u", `{"a":`, "-1", "99999999999999999999")
	f.Add("", "\xff\xfe", "0", "0")
	f.Add("theme", `"dark"`, "\x00\x01\x9a\xd0\x00\x00", "\x00\x01\x9a\xd0\x00\x01")
	store := mustOpen(f, f.TempDir())
	m := sessiontest.MustManager(f, store, "", func(c *session.Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	app := sessiontest.NewApp(f, m)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, field, value, created, seen string) {
		if len(field)+len(value)+len(created)+len(seen) > 512 {
			return // larger inputs exercise nothing new and slow the fuzzer down
		}
		// A stored session made hostile: its metadata's times garbled and
		// its verifier hash kept, emptied or wrong; a hostile attribute.
		// With its own hash, the fields load without a panic; with
		// another, it is never adopted.
		for _, h := range []string{"", "wrong-wrong!", "keep"} {
			rec, cookie := app.Do("POST", "/login/fuzz", "")
			if rec.Code != http.StatusOK || cookie == "" || cookie == "-" {
				t.Fatalf("login: %d cookie %q", rec.Code, cookie)
			}
			key := sessiontest.StoreKey(t, m, cookie)
			stored, _, err := store.Load(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			meta := stored[session.MetaField]
			verifier, rest := meta[12:24], meta[24:]
			if h != "keep" {
				verifier = h
			}
			force := []session.FieldSet{{Field: session.MetaField, Value: created + seen + verifier + rest}}
			if field != "" && field != session.MetaField {
				force = append(force, session.FieldSet{Field: field, Value: value})
			}
			if _, err := store.Apply(ctx, key, session.Delta{Force: force}); err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
			s, err := m.Load(req)
			if err != nil {
				t.Fatal(err)
			}
			if h != "keep" && !s.IsNew() {
				t.Fatal("adopted a session without a matching verifier")
			}
			for _, k := range s.Keys() {
				if strings.HasPrefix(k, "@") {
					t.Fatalf("metadata %q leaked into values", k)
				}
			}
		}
	})
}
