package session

import (
	"strings"
	"testing"
)

// TestCookieHasOneSpelling: a base64 character carries 6 bits, and the last
// one of the MAC (and of the payload) has bits that encode nothing. A
// lenient decoder reads a cookie whose last character differs only in
// those bits as the same bytes, so it verifies; a strict one refuses it.
func TestCookieHasOneSpelling(t *testing.T) {
	s := NewSigner([][]byte{testKey})
	tok, err := newToken(Layout1, "")
	if err != nil {
		t.Fatal(err)
	}
	good := s.Encode(tok)
	if _, _, err := s.Decode(good); err != nil {
		t.Fatalf("the genuine cookie: %v", err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	payload, mac, _ := strings.Cut(good, ".")
	for name, tc := range map[string]struct {
		part string
		at   func(string) string
	}{
		"MAC":     {mac, func(v string) string { return payload + "." + v }},
		"payload": {payload, func(v string) string { return v + "." + mac }},
	} {
		last := strings.IndexByte(alphabet, tc.part[len(tc.part)-1])
		// 43 characters hold 256 bits of MAC: the last one's low 2 bits
		// are padding; 59 hold 352 bits of payload: its low 2 bits too.
		for pad := 1; pad < 4; pad++ {
			other := tc.part[:len(tc.part)-1] + string(alphabet[last^pad])
			if _, _, err := s.Decode(tc.at(other)); err == nil {
				t.Errorf("%s with its last character changed in padding bits only (%q -> %q) still verifies",
					name, tc.part[len(tc.part)-1:], other[len(other)-1:])
			}
		}
	}
}
