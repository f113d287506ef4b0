package session

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"strings"
	"sync"
)

// A session token is a selector and a verifier:
//
//	selector (12 random bytes) names the stored session; it is the Redis key
//	and the per-user index member, so it is short.
//	verifier (32 random bytes) proves possession; only a hash of it is
//	stored, so a copy of Redis yields no usable cookie.
//
// The cookie carries base64url(selector||verifier) "." base64url(HMAC-SHA256),
// signed with the first key and verified with any (rotation). The MAC is
// computed in the domain of the session's layout (see Layout), so the
// cookie also says where its session is stored. A regenerated
// session keeps the first 3 selector bytes (its hash tag, so old and new key
// share a Redis Cluster slot) and gets 9 new selector bytes and a new
// verifier: 328 fresh random bits.
const (
	selectorLen = 12
	verifierLen = 32
	tagLen      = 3
	rawLen      = selectorLen + verifierLen
	macLen      = sha256.Size
	// encoded lengths (base64url, no padding)
	selectorChars = 16
	tagChars      = 4
	rawChars      = 59
	macChars      = 43
	tokenChars    = rawChars + 1 + macChars
)

// b64 is strict: a changed last character (non-zero padding bits) does
// not decode to the same bytes, so every cookie has one spelling.
var b64 = base64.RawURLEncoding.Strict()

var (
	// errMalformed: not a token at all (length, alphabet, structure).
	errMalformed = errors.New("session: malformed token")
	// errUnverified: a well-formed token that no key of this replica
	// signed: tampered with, or signed by a key this replica lacks.
	errUnverified = errors.New("session: token signed by no known key")
)

// Token is a parsed, verified cookie value.
type Token struct {
	Selector string // base64url, selectorChars long: names the stored session
	Verifier []byte // proves possession; only its hash is stored
	Layout   Layout // where the session is stored
}

// newToken makes a fresh token of layout l; when tagFrom is a selector,
// the new one keeps its hash tag.
func newToken(l Layout, tagFrom string) (Token, error) {
	raw := make([]byte, rawLen)
	if _, err := rand.Read(raw); err != nil {
		return Token{}, err
	}
	sel := b64.EncodeToString(raw[:selectorLen])
	if tagFrom != "" {
		sel = tagFrom[:tagChars] + sel[tagChars:]
	}
	return Token{Selector: sel, Verifier: raw[selectorLen:], Layout: l}, nil
}

// Signer is the cookie codec: it signs with keys[0] and verifies with any
// key, in the domain of every layout it reads. HMAC states are pooled per
// key: verifying a cookie is on every request's path.
type Signer struct {
	keys    [][]byte
	pools   []*sync.Pool
	layouts []Layout // tried in this order: the layout written first
}

// NewSigner returns the codec for keys; the first signs. It verifies the
// cookies of every known layout, trying first's first.
func NewSigner(keys [][]byte, first ...Layout) Signer {
	s := Signer{keys: keys, pools: make([]*sync.Pool, len(keys))}
	if len(first) > 0 {
		s.layouts = append(s.layouts, first[0])
	}
	for _, l := range Layouts() {
		if len(first) == 0 || l != first[0] {
			s.layouts = append(s.layouts, l)
		}
	}
	for i, k := range keys {
		s.pools[i] = &sync.Pool{New: func() any { return hmac.New(sha256.New, k) }}
	}
	return s
}

// mac appends to dst the MAC of payload under key i in layout l's domain.
func (s Signer) mac(dst []byte, i int, l Layout, payload string) []byte {
	h := s.pools[i].Get().(hash.Hash)
	h.Reset()
	io.WriteString(h, l.macDomain())
	io.WriteString(h, payload)
	dst = h.Sum(dst)
	s.pools[i].Put(h)
	return dst
}

// Encode returns the cookie value of t.
func (s Signer) Encode(t Token) string {
	sel, _ := b64.DecodeString(t.Selector)
	raw := make([]byte, 0, rawLen)
	raw = append(raw, sel...)
	raw = append(raw, t.Verifier...)
	payload := b64.EncodeToString(raw)
	var buf [macLen]byte
	return payload + "." + b64.EncodeToString(s.mac(buf[:0], 0, t.Layout, payload))
}

// Decode verifies a cookie value. stale reports that it verified with a
// key other than the first, so the cookie should be re-signed.
func (s Signer) Decode(v string) (t Token, stale bool, err error) {
	if len(v) != tokenChars || v[rawChars] != '.' {
		return Token{}, false, errMalformed
	}
	payload, sig := v[:rawChars], v[rawChars+1:]
	var mac, want [macLen]byte
	if n, err := b64.Decode(mac[:], []byte(sig)); err != nil || n != macLen {
		return Token{}, false, errMalformed
	}
	var raw [rawLen]byte
	if n, err := b64.Decode(raw[:], []byte(payload)); err != nil || n != rawLen {
		return Token{}, false, errMalformed
	}
	for _, l := range s.layouts {
		for i := range s.keys {
			if hmac.Equal(mac[:], s.mac(want[:0], i, l, payload)) {
				return Token{
					Selector: b64.EncodeToString(raw[:selectorLen]),
					Verifier: append([]byte(nil), raw[selectorLen:]...),
					Layout:   l,
				}, i > 0, nil
			}
		}
	}
	return Token{}, false, errUnverified
}

// verifierHash is what is stored to check a verifier: 12 bytes of SHA-256.
func verifierHash(v []byte) string {
	sum := sha256.Sum256(v)
	return string(sum[:verifierSz])
}

func verifierMatches(v []byte, stored string) bool {
	return subtle.ConstantTimeCompare([]byte(verifierHash(v)), []byte(stored)) == 1
}

// PublicID is the handle of a session shown to users and in the API: it
// names the session among its owner's, but is not part of any cookie.
func PublicID(selector string) string {
	sum := sha256.Sum256([]byte("public|" + selector))
	return hex.EncodeToString(sum[:8])
}

// validSelector tells whether s could be a selector (for index members
// read back from the store).
func validSelector(s string) bool {
	if len(s) != selectorChars {
		return false
	}
	_, err := b64.DecodeString(s)
	return err == nil && !strings.ContainsAny(s, "{}")
}
