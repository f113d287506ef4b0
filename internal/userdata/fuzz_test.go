package userdata

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// Each rule is fuzzed against its specification; the seed corpora run in
// every `go test`, `make fuzz` runs each fuzzer for FUZZTIME, and a crasher
// committed under testdata/fuzz/<FuzzName>/ is a regression test.

// checkText is the rule of names and items: an accepted value is valid
// UTF-8, trimmed, 1 to maxRunes characters (maxBytes bytes when > 0),
// with no control character, and accepted again unchanged; a refused one
// is an Invalid *Error with a message.
func checkText(t *testing.T, parse func(string) (string, error), in string, maxRunes, maxBytes int) {
	t.Helper()
	if len(in) > maxTextInput {
		t.Skip() // every rule is reached by shorter input; long ones only slow minimization down
	}
	out, err := parse(in)
	if err != nil {
		in, ok := err.(*Error)
		if !ok || in.Message == "" || in.Code != Invalid {
			t.Fatalf("refused with %#v, want an *Error with a message", err)
		}
		if out != "" {
			t.Fatalf("refused but returned %q", out)
		}
		return
	}
	switch {
	case !utf8.ValidString(out):
		t.Fatalf("accepted invalid UTF-8 %q", out)
	case out == "" || out != strings.TrimSpace(out):
		t.Fatalf("accepted %q: empty or untrimmed", out)
	case utf8.RuneCountInString(out) > maxRunes || maxBytes > 0 && len(out) > maxBytes:
		t.Fatalf("accepted %q: too long", out)
	case strings.IndexFunc(out, unicode.IsControl) >= 0:
		t.Fatalf("accepted %q with a control character", out)
	case !strings.Contains(in, out):
		t.Fatalf("accepted %q as %q, which is not part of it", in, out)
	}
	if again, err := parse(out); err != nil || again != out {
		t.Fatalf("%q accepted as %q, which is then %q, %v", in, out, again, err)
	}
}

// maxTextInput bounds fuzzed names and items: a few times the longest
// acceptable value, with room for surrounding spaces.
const maxTextInput = 512

var textSeeds = []string{
	"Alice", "  Bob  ", "Zoë Ωmega 李", "👩‍💻 dev", "", " ", "\t\n", "a\x00b", "a\u0085b", "a\u2028b", "\xff\xfe",
	"ok\xc3", strings.Repeat("x", 64), strings.Repeat("é", 65), strings.Repeat("界", 41), "\u00a0name\u00a0",
	"<script>alert(1)</script>", "cart:apple", "@u", "name\u200b", "\ufeffbom",
}

func FuzzName(f *testing.F) {
	for _, s := range textSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { checkText(t, ParseName, in, MaxNameLen, 0) })
}

func FuzzItem(f *testing.F) {
	for _, s := range textSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { checkText(t, ParseItem, in, MaxItemLen, MaxItemSize) })
}

func FuzzQty(f *testing.F) {
	for _, s := range []string{"", "1", "99", "100", "0", "-1", "+1", "007", " 5 ", "1e2", "0x10", "٣", "１", "9999999999999999999999", "1.0", "\t42\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := ParseQty(in)
		trimmed := strings.TrimSpace(in)
		if err != nil {
			if n != 0 {
				t.Fatalf("refused %q but returned %d", in, n)
			}
			// Refused: it must not be a plain number from 1 to MaxQty.
			if v, perr := strconv.Atoi(trimmed); perr == nil && v >= 1 && v <= MaxQty && len(trimmed) <= 3 &&
				strings.IndexFunc(trimmed, func(r rune) bool { return r < '0' || r > '9' }) < 0 {
				t.Fatalf("refused %q, a valid quantity", in)
			}
			return
		}
		if n < 1 || n > MaxQty {
			t.Fatalf("accepted %q as %d", in, n)
		}
		if trimmed == "" {
			if n != 1 {
				t.Fatalf("empty quantity is %d, want 1", n)
			}
			return
		}
		if v, perr := strconv.ParseInt(trimmed, 10, 64); perr != nil || v != n || trimmed[0] == '+' || trimmed[0] == '-' {
			t.Fatalf("accepted %q as %d", in, n)
		}
	})
}

func FuzzTheme(f *testing.F) {
	for _, s := range []string{"light", "dark", "system", "Dark", " dark", "", "blue", "light\x00", "System", "auto"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := ParseTheme(in)
		valid := in == "light" || in == "dark" || in == "system"
		if valid != (err == nil) || valid && string(out) != in || !valid && out != "" {
			t.Fatalf("Theme(%q) = %q, %v", in, out, err)
		}
	})
}
