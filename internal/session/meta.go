package session

import (
	"encoding/binary"
	"time"
)

// The engine's metadata of a stored session, kept small so that a session
// stays in Redis' compact hash encoding (every value at most 64 bytes):
//
//	MetaField "@":  created(6) seen(6) verifier-hash(12) browser(1) os(1)
//	UserField "@u": the owner's name
//
// Times are unix milliseconds, 6 bytes big-endian, by the store's clock:
// the store stamps them (see Backend and Stamp). User attributes may not
// start with '@', so they never collide with these.
const (
	MetaField = "@"
	UserField = "@u"
)

// MetaStampLen is the length of the two stamps that start MetaField.
const MetaStampLen = 2 * stampLen

const (
	stampLen   = 6
	verifierSz = 12 // raw bytes of the verifier hash
	metaLen    = MetaStampLen + verifierSz + 2
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
}

// encode returns the MetaField value of m; zero times are stamped as
// zeros, for the store to fill in.
func (m meta) encode() string {
	b := make([]byte, 0, metaLen)
	b = appendStamp(b, stampMs(m.created))
	b = appendStamp(b, stampMs(m.seen))
	b = append(b, m.verifier...)
	return string(append(b, m.device.browser, m.device.os))
}

// stampMs is t in unix milliseconds, 0 for the zero time.
func stampMs(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixMilli())
}

// parseMeta decodes a session's metadata fields; ok is false when they are
// malformed.
func parseMeta(v, user string) (m meta, ok bool) {
	if len(v) != metaLen {
		return meta{}, false
	}
	m.created, m.seen = readStamp(v[:stampLen]), readStamp(v[stampLen:MetaStampLen])
	if m.created.IsZero() || m.seen.IsZero() {
		return meta{}, false
	}
	m.verifier = v[MetaStampLen : MetaStampLen+verifierSz]
	m.device = device{browser: v[metaLen-2], os: v[metaLen-1]}
	m.user = user
	return m, true
}

// metaOf decodes rec's metadata.
func metaOf(rec Record) (meta, bool) { return parseMeta(rec[MetaField], rec[UserField]) }
