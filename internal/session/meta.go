package session

import (
	"encoding/binary"
	"time"
)

// The engine's metadata of a stored session, kept small so that a session
// stays in Redis' compact hash encoding (every value at most 64 bytes):
//
//	MetaField "@":  created(6) seen(6) verifier-hash(12) browser(1) os(1)
//	                [version(1) rest...]
//	UserField "@u": the owner's name
//
// Times are unix milliseconds, 6 bytes big-endian, by the store's clock:
// the store stamps them (see Backend and Stamp). User attributes may not
// start with '@', so they never collide with these.
//
// Layout 1's "@" is exactly MetaLen bytes (c3f0c61 refuses any other
// length). From layout 2 on, a version byte follows (2 and up), and a
// later version may append more: a reader takes what it knows and keeps
// the rest as it is, so a record written by a newer release of the same
// layout is read, and rewritten, without losing what only that release
// understands.
const (
	MetaField = "@"
	UserField = "@u"
)

// MetaStampLen is the length of the two stamps that start MetaField.
const MetaStampLen = 2 * stampLen

// MetaLen is the length of the part of MetaField every layout shares.
const MetaLen = MetaStampLen + verifierSz + 2

const (
	stampLen   = 6
	verifierSz = 12 // raw bytes of the verifier hash
)

// Stamp is t as a metadata stamp: unix milliseconds, 6 bytes big-endian.
// Stores write it at the start of MetaField (created, then last seen).
func Stamp(t time.Time) string {
	return string(appendStamp(make([]byte, 0, 6), uint64(t.UnixMilli())))
}

// appendStamp appends the low 48 bits of ms, big-endian: a Stamp.
func appendStamp(b []byte, ms uint64) []byte {
	return append(b, byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms))
}

func readStamp(s string) time.Time {
	var b [8]byte
	copy(b[2:], s)
	n := int64(binary.BigEndian.Uint64(b[:]))
	if n <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// meta is a session's metadata, decoded.
type meta struct {
	created, seen time.Time
	verifier      string // hash of the token's verifier, raw
	user          string // owner: the index the session is listed in
	device        device // from the User-Agent at creation
	// version is the byte after the shared part: 0 for layout 1's form,
	// which has none; rest is what follows it, kept as it was read.
	version byte
	rest    string
}

// metaFor returns the metadata of a new session of layout l.
func metaFor(l Layout) meta {
	if l == Layout1 {
		return meta{}
	}
	return meta{version: byte(l)}
}

// encode returns the MetaField value of m; zero times are stamped as
// zeros, for the store to fill in.
func (m meta) encode() string {
	b := make([]byte, 0, MetaLen+1+len(m.rest))
	b = appendStamp(b, stampMs(m.created))
	b = appendStamp(b, stampMs(m.seen))
	b = append(b, m.verifier...)
	b = append(b, m.device.browser, m.device.os)
	if m.version != 0 {
		b = append(append(b, m.version), m.rest...)
	}
	return string(b)
}

// stampMs is t in unix milliseconds, 0 for the zero time.
func stampMs(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixMilli())
}

// parseMeta decodes a session's metadata fields; ok is false when they
// are not in a form this release reads.
func parseMeta(v, user string) (m meta, ok bool) {
	switch {
	case len(v) < MetaLen:
		return meta{}, false
	case len(v) > MetaLen:
		m.version, m.rest = v[MetaLen], v[MetaLen+1:]
		if m.version < byte(Layout2) {
			return meta{}, false // not a version byte: a corrupt record
		}
	}
	m.created, m.seen = readStamp(v[:stampLen]), readStamp(v[stampLen:MetaStampLen])
	if m.created.IsZero() || m.seen.IsZero() {
		return meta{}, false
	}
	m.verifier = v[MetaStampLen : MetaStampLen+verifierSz]
	m.device = device{browser: v[MetaLen-2], os: v[MetaLen-1]}
	m.user = user
	return m, true
}

// metaOf decodes rec's metadata.
func metaOf(rec Record) (meta, bool) { return parseMeta(rec[MetaField], rec[UserField]) }
