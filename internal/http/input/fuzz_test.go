package input

import (
	"strings"
	"testing"
)

// Each rule is fuzzed against its specification; the seed corpora run in
// every `go test`, `make fuzz` runs each fuzzer for FUZZTIME, and a crasher
// committed under testdata/fuzz/<FuzzName>/ is a regression test.

func FuzzSessionID(f *testing.F) {
	for _, s := range []string{"0123456789abcdef", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "", "'; DROP", "ghijklmnopqrstuv", "0123456789abcde\x00", "０123456789abcdef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		valid := len(in) == 16 && strings.Trim(in, "0123456789abcdef") == ""
		if got := ValidSessionID(in); got != valid {
			t.Fatalf("ValidSessionID(%q) = %v, want %v", in, got, valid)
		}
	})
}

func FuzzRequestID(f *testing.F) {
	ids := NewRequestIDs()
	for _, s := range []string{"", "trace-42.a_b", strings.Repeat("a", MaxRequestID), strings.Repeat("a", MaxRequestID+1), "bad id", "x\ny", "é", "abc\x00", "../../etc", `"quoted"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := ids.Get(in)
		if !ValidRequestID(out) || len(out) > MaxRequestID {
			t.Fatalf("Get(%q) = %q, not a valid id", in, out)
		}
		valid := in != "" && len(in) <= MaxRequestID && strings.Trim(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == ""
		if valid != (out == in) {
			t.Fatalf("Get(%q) = %q; valid input %v", in, out, valid)
		}
		if prefix := ids.prefix; !valid && (!strings.HasPrefix(out, prefix) || strings.Trim(out[len(prefix):], "0123456789abcdefghijklmnopqrstuvwxyz") != "") {
			t.Fatalf("generated id %q is not the prefix and a counter", out)
		}
	})
}
