package main

import (
	"crypto/sha256"
	"encoding/hex"
)

// fingerprintLabel is hashed before each key so that a fingerprint names
// the key only as a sessiond signing key: the same value used elsewhere
// has a different SHA-256.
const fingerprintLabel = "sessiond signing key:"

// keyFingerprint is the first 8 hex digits of SHA-256(label + key): enough
// for an operator to see that two replicas sign with different keys (the
// start-up line "signing keys"), and nothing that helps to guess a key of
// 32 bytes or more. The same on the command line:
//
//	printf 'sessiond signing key:%s' "$KEY" | sha256sum | cut -c1-8
func keyFingerprint(key []byte) string {
	sum := sha256.Sum256(append([]byte(fingerprintLabel), key...))
	return hex.EncodeToString(sum[:4])
}

// keyFingerprints are the fingerprints of keys, in order (the first signs).
func keyFingerprints(keys [][]byte) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = keyFingerprint(k)
	}
	return out
}
