package lbconfig

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// A minimal reader of nginx configuration, enough to look at the rendering
// structurally where Debian's nginx cannot parse it.

type directive struct {
	name string
	args []string
	body *block // nil unless the directive opens a block
}

type block struct {
	dirs []directive
}

// args returns the arguments of each directive named name in b (not nested).
func (b *block) args(name string) [][]string {
	var out [][]string
	for _, d := range b.dirs {
		if d.name == name {
			out = append(out, d.args)
		}
	}
	return out
}

// block returns the one block directive named name in b.
func (b *block) block(tb testing.TB, name string) *block {
	tb.Helper()
	var found *block
	for _, d := range b.dirs {
		if d.name == name && d.body != nil {
			if found != nil {
				tb.Fatalf("more than one %q block", name)
			}
			found = d.body
		}
	}
	if found == nil {
		tb.Fatalf("no %q block", name)
	}
	return found
}

func parseConf(s string) (*block, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	b, rest, err := parseBlock(toks, false)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errors.New("unexpected '}'")
	}
	return b, nil
}

func parseBlock(toks []string, nested bool) (*block, []string, error) {
	b := &block{}
	var cur []string
	for len(toks) > 0 {
		t := toks[0]
		toks = toks[1:]
		switch t {
		case ";":
			if len(cur) == 0 {
				return nil, nil, errors.New("empty directive")
			}
			b.dirs = append(b.dirs, directive{name: cur[0], args: cur[1:]})
			cur = nil
		case "{":
			if len(cur) == 0 {
				return nil, nil, errors.New("block without a name")
			}
			body, rest, err := parseBlock(toks, true)
			if err != nil {
				return nil, nil, err
			}
			b.dirs = append(b.dirs, directive{name: cur[0], args: cur[1:], body: body})
			cur, toks = nil, rest
		case "}":
			if !nested || len(cur) != 0 {
				return nil, nil, errors.New("unexpected '}'")
			}
			return b, toks, nil
		default:
			cur = append(cur, t)
		}
	}
	if nested || len(cur) != 0 {
		return nil, nil, errors.New("unexpected end of file")
	}
	return b, nil, nil
}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == ';' || c == '{' || c == '}':
			toks = append(toks, string(c))
			i++
		case c == '"' || c == '\'':
			var sb strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				sb.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated quote at byte %d", i)
			}
			toks = append(toks, sb.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n;{}#", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}
