package userdata

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of what users send and keep.
const (
	MaxNameLen  = 64  // characters of a name
	MaxItemLen  = 40  // characters of a cart item
	MaxItemSize = 120 // bytes of a cart item (it is part of a stored field name)
	MaxQty      = 99  // of one item in the cart
	MaxItems    = 20  // distinct items in a cart
)

// text applies the rules of names and cart items: valid UTF-8, trimmed,
// 1 to maxRunes characters (and at most maxBytes bytes when > 0), no
// control characters. what is the thing with its article ("a name").
func text(what, v string, maxRunes, maxBytes int) (string, error) {
	noun := what[strings.IndexByte(what, ' ')+1:]
	if !utf8.ValidString(v) {
		return "", Invalidf("The %s is not valid UTF-8 text.", noun)
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", Invalidf("Please enter %s.", what)
	}
	if utf8.RuneCountInString(v) > maxRunes || maxBytes > 0 && len(v) > maxBytes {
		return "", Invalidf("%s can have at most %d characters.", capitalize(what), maxRunes)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", Invalidf("%s cannot contain control characters such as tabs or line breaks.", capitalize(what))
	}
	return v, nil
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// ParseName checks a login name and returns it trimmed.
func ParseName(v string) (string, error) { return text("a name", v, MaxNameLen, 0) }

// ParseItem checks a cart item and returns it trimmed. Items are part of a
// stored field name, which the engine bounds in bytes, hence MaxItemSize.
func ParseItem(v string) (string, error) { return text("an item", v, MaxItemLen, MaxItemSize) }

// ParseQty checks a quantity: a whole number from 1 to MaxQty, 1 when empty.
func ParseQty(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 1, nil
	}
	if len(v) > 3 || strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, Invalidf("The quantity must be a whole number from 1 to %d.", MaxQty)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > MaxQty {
		return 0, Invalidf("The quantity must be a whole number from 1 to %d.", MaxQty)
	}
	return n, nil
}
