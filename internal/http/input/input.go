// Package input checks the identifiers requests carry: public session ids
// and request ids. (What users send about themselves, names, items,
// quantities and themes, is checked by package userdata.) It needs nothing
// but the standard library, which keeps it easy to test and fast to fuzz.
package input

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"sync/atomic"
)

// MaxRequestID is the longest X-Request-ID that is kept, in bytes.
const MaxRequestID = 64

// ValidSessionID tells whether v is a public session id: 16 lower-case hex
// digits.
func ValidSessionID(v string) bool {
	return len(v) == 16 && strings.IndexFunc(v, func(r rune) bool {
		return (r < '0' || r > '9') && (r < 'a' || r > 'f')
	}) < 0
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
