package userdata

import (
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Alice", "Alice", true},
		{"  Bob  ", "Bob", true},
		{"\tCarol\n", "Carol", true},
		{"Zoë Ωmega 李", "Zoë Ωmega 李", true},
		{"👩‍💻 dev", "👩‍💻 dev", true},
		{strings.Repeat("x", 64), strings.Repeat("x", 64), true},
		{strings.Repeat("é", 64), strings.Repeat("é", 64), true}, // 64 characters, 128 bytes
		{strings.Repeat("x", 65), "", false},
		{"", "", false},
		{"   ", "", false},
		{"a\x00b", "", false},
		{"a\nb", "", false},
		{"a\tb", "", false},
		{"a\x7fb", "", false},
		{"a\u0085b", "", false}, // C1 control
		{"\xff\xfe", "", false}, // not UTF-8
		{"ok\xc3", "", false},   // truncated UTF-8
	} {
		got, err := ParseName(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseName(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseItem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"apple", true},
		{" green tea ", true},
		{strings.Repeat("x", 40), true},
		{strings.Repeat("李", 40), true}, // 120 bytes
		{strings.Repeat("x", 41), false},
		{strings.Repeat("😀", 31), false}, // 31 characters but 124 bytes
		{"", false},
		{"a\nb", false},
		{"\xff", false},
	} {
		if _, err := ParseItem(tc.in); (err == nil) != tc.ok {
			t.Errorf("ParseItem(%q): err=%v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestParseQty(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 1, true}, {"1", 1, true}, {" 7 ", 7, true}, {"99", 99, true}, {"099", 99, true},
		{"0", 0, false}, {"100", 0, false}, {"-1", 0, false}, {"+1", 0, false}, {"1.5", 0, false},
		{"1e1", 0, false}, {"abc", 0, false}, {"0x10", 0, false}, {"٣", 0, false}, {"99999999999999999999", 0, false},
	} {
		got, err := ParseQty(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseQty(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseTheme(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{"light": true, "dark": true, "system": true, "Dark": false, "": false, "blue": false, " dark": false, "System": false} {
		if _, err := ParseTheme(in); (err == nil) != ok {
			t.Errorf("ParseTheme(%q): err=%v, want ok=%v", in, err, ok)
		}
	}
}
