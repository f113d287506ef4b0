package main

import "github.com/sessiond/sessiond/internal/session"

// keyFingerprint names a key in the logs without revealing it (see
// session.Fingerprint: the engine warns with the same names when a cookie
// verifies with none of the keys).
func keyFingerprint(key []byte) string { return session.Fingerprint(key) }

// keyFingerprints are the fingerprints of keys, in order (the first signs).
func keyFingerprints(keys [][]byte) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = keyFingerprint(k)
	}
	return out
}
