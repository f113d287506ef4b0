package session

import (
	"bytes"
	"testing"
)

var testKey = bytes.Repeat([]byte("k"), 32)

// BenchmarkCookieVerify: HMAC check and decoding of a cookie value, the
// first thing every request with a cookie pays.
func BenchmarkCookieVerify(b *testing.B) {
	sg := NewSigner([][]byte{testKey})
	tok, err := newToken(Layout1, "")
	if err != nil {
		b.Fatal(err)
	}
	v := sg.Encode(tok)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := sg.Decode(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCookieSign: making a cookie value (login, regenerate).
func BenchmarkCookieSign(b *testing.B) {
	sg := NewSigner([][]byte{testKey})
	tok, err := newToken(Layout1, "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = sg.Encode(tok)
	}
}
