package session

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

// FuzzTokenDecode: no cookie value may crash the decoder or be accepted
// unless it is exactly a token this key signed.
func FuzzTokenDecode(f *testing.F) {
	s := NewSigner([][]byte{testKey})
	tok, _ := newToken(Layout1, "")
	good := s.Encode(tok)
	for _, seed := range []string{good, good[:rawChars], "", ".", strings.Repeat("A", tokenChars),
		good[:rawChars] + "." + strings.Repeat("_", macChars), "%00", good + "x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, _, err := s.Decode(v)
		if err != nil {
			return
		}
		if s.Encode(got) != v {
			t.Fatalf("accepted %q, which re-encodes differently", v)
		}
		if len(got.Selector) != selectorChars || len(got.Verifier) != verifierLen {
			t.Fatalf("accepted a malformed token: %+v", got)
		}
	})
}

// FuzzDecodeValues: whatever a store hands back (corrupt, foreign or
// hostile fields), decoding never panics and keeps metadata out of the
// values. (The filestore's FuzzDecodeRecord loads such records through a
// real store.)
func FuzzDecodeValues(f *testing.F) {
	f.Add("theme", `"dark"`, "1795647554250", "1795647554250")
	f.Add("cart:apple", "3", "x", "")
	f.Add("@u", `{"a":`, "-1", "99999999999999999999")
	f.Add("", "\xff\xfe", "0", "0")
	f.Fuzz(func(t *testing.T, field, value, created, seen string) {
		if len(field)+len(value)+len(created)+len(seen) > 512 {
			return // larger inputs exercise nothing new and slow the fuzzer down
		}
		rec := Record{field: value, MetaField: created + seen}
		metaOf(rec) // must not panic either
		vals := decodeValues(rec, slog.New(slog.NewTextHandler(io.Discard, nil)))
		for k := range vals {
			if strings.HasPrefix(k, "@") {
				t.Fatalf("metadata %q leaked into values", k)
			}
		}
	})
}
