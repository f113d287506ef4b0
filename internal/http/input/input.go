// Package input checks what users send: names, cart items, quantities,
// themes, public session ids and request ids. It needs nothing but the
// standard library, which keeps it easy to test and fast to fuzz.
package input

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// Limits of the service's input.
const (
	MaxNameLen   = 64  // characters of a name
	MaxItemLen   = 40  // characters of a cart item
	MaxItemSize  = 120 // bytes of a cart item (it is part of a stored field name)
	MaxQty       = 99  // of one item
	MaxRequestID = 64  // bytes of an X-Request-ID that is kept
)

// Error is a refused input. Its message is safe to show and says how to
// fix it.
type Error struct {
	Msg string
}

func (e *Error) Error() string { return e.Msg }

func refuse(format string, args ...any) error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// text applies the rules of names and cart items: valid UTF-8, trimmed,
// 1 to maxRunes characters (and at most maxBytes bytes when > 0), no
// control characters.
func text(what, v string, maxRunes, maxBytes int) (string, error) {
	if !utf8.ValidString(v) {
		return "", refuse("The %s is not valid UTF-8 text.", what)
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", refuse("Please enter a %s.", what)
	}
	if utf8.RuneCountInString(v) > maxRunes || maxBytes > 0 && len(v) > maxBytes {
		return "", refuse("A %s can have at most %d characters.", what, maxRunes)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", refuse("A %s cannot contain control characters such as tabs or line breaks.", what)
	}
	return v, nil
}

// Name checks a login name and returns it trimmed.
func Name(v string) (string, error) { return text("name", v, MaxNameLen, 0) }

// Item checks a cart item and returns it trimmed. Items are part of a
// stored field name, which the engine bounds in bytes, hence MaxItemSize.
func Item(v string) (string, error) { return text("item", v, MaxItemLen, MaxItemSize) }

// Qty checks a quantity: a whole number from 1 to MaxQty, 1 when empty.
func Qty(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 1, nil
	}
	if len(v) > 3 || strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, refuse("The quantity must be a whole number from 1 to %d.", MaxQty)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > MaxQty {
		return 0, refuse("The quantity must be a whole number from 1 to %d.", MaxQty)
	}
	return n, nil
}

// Theme checks a theme: light or dark.
func Theme(v string) (string, error) {
	if v != "light" && v != "dark" {
		return "", refuse(`The theme must be "light" or "dark".`)
	}
	return v, nil
}

// SessionID checks a public session id: 16 lower-case hex digits.
func SessionID(v string) (string, error) {
	if len(v) != 16 || strings.IndexFunc(v, func(r rune) bool {
		return (r < '0' || r > '9') && (r < 'a' || r > 'f')
	}) >= 0 {
		return "", refuse("That is not a session id.")
	}
	return v, nil
}

// Get returns in when it is a valid request id, otherwise a new one.
func (g *RequestIDs) Get(in string) string {
	if ValidRequestID(in) {
		return in
	}
	var b [32]byte
	n := copy(b[:], g.prefix)
	return string(strconv.AppendUint(b[:n], g.n.Add(1), 36))
}

// RequestIDs makes request ids: a random prefix drawn once per process and
// a counter, so ids are unique across replicas and restarts without a
// crypto/rand read per request. Ids are labels, not secrets.
type RequestIDs struct {
	prefix string
	n      atomic.Uint64
}

// NewRequestIDs returns a generator with a fresh random prefix.
func NewRequestIDs() *RequestIDs {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return &RequestIDs{prefix: hex.EncodeToString(b) + "-"}
}

// ValidRequestID tells whether v is a short token: 1 to MaxRequestID of
// A-Z a-z 0-9 . _ -, safe in a header and a log line.
func ValidRequestID(v string) bool {
	if v == "" || len(v) > MaxRequestID {
		return false
	}
	for i := 0; i < len(v); i++ {
		ch := v[i]
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			ch == '.' || ch == '_' || ch == '-'
		if !ok {
			return false
		}
	}
	return true
}
