package session

import (
	"fmt"
	"strings"
	"time"
)

// MetaField is the field of a stored session that holds the engine's
// metadata, in one field to keep sessions small:
//
//	created(13 digits) seen(13 digits) verifier-hash(16) user "\n" device
//
// Times are unix milliseconds by the store's clock: the store stamps them
// (see Backend). User attributes may not start with '@', so they never
// collide with it.
const MetaField = "@"

// MetaStampLen is the length of the two stamps that start MetaField.
const MetaStampLen = 26

// meta is a session's metadata, decoded.
type meta struct {
	created, seen time.Time
	verifier      string // hash of the token's verifier
	user          string // owner: the index the session is listed in
	device        string // short label from the User-Agent at creation
}

// encode returns the MetaField value of m; zero times are stamped as
// zeros, for the store to fill in.
func (m meta) encode() string {
	var b strings.Builder
	b.Grow(MetaStampLen + verifierChars + len(m.user) + 1 + len(m.device))
	fmt.Fprintf(&b, "%013d%013d", unixMilli(m.created), unixMilli(m.seen))
	b.WriteString(m.verifier)
	b.WriteString(m.user)
	b.WriteByte('\n')
	b.WriteString(m.device)
	return b.String()
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// parseMeta decodes a MetaField value; ok is false when it is malformed.
func parseMeta(v string) (m meta, ok bool) {
	if len(v) < MetaStampLen+verifierChars+1 {
		return meta{}, false
	}
	m.created, m.seen = stampTime(v[:13]), stampTime(v[13:26])
	if m.created.IsZero() || m.seen.IsZero() {
		return meta{}, false
	}
	m.verifier = v[MetaStampLen : MetaStampLen+verifierChars]
	rest := v[MetaStampLen+verifierChars:]
	user, device, found := strings.Cut(rest, "\n")
	if !found {
		return meta{}, false
	}
	m.user, m.device = user, device
	return m, true
}
