package session

import "strconv"

// Layout is a version of how sessions are stored: the names of the keys,
// the format of every record under them, and the domain the cookie's MAC
// is computed in (so a cookie says which layout its session is in, and a
// release that does not know a layout takes its cookies for unverified
// ones: no session, and the cookie is left alone).
//
// Two layouts never share a key name: layout 1's names are s:, u: and
// login: (the releases up to c3f0c61 used them, with no markers in the
// records); every later layout N puts "vN:" before its names. No name
// holds anything a user typed: selectors are random, index names are
// hashes, limiter keys are parsed addresses.
//
// A release reads every layout it knows and writes one, its store's (see
// Backend.ForLayout). A change of layout goes out in two steps: a release
// that reads both and writes the old, then one that writes the new
// (docs/operations.md, "Upgrades"); so two releases side by side always
// read what the other writes.
type Layout uint8

const (
	// Layout1 is the layout of c3f0c61 and before: "@" is exactly
	// MetaLen bytes, index entries are 16 bytes, forwards are the new
	// member then the new key; nothing in a record names its version.
	Layout1 Layout = 1
	// Layout2 puts its version in every record: "@" carries a version
	// byte after its MetaLen bytes (and keeps whatever a later version
	// of the layout appends after it), index values and forwards start
	// with it, limiter values with "2:".
	Layout2 Layout = 2
)

// Layouts returns the layouts this release reads, oldest first.
func Layouts() []Layout { return []Layout{Layout1, Layout2} }

// Known tells whether this release reads l.
func (l Layout) Known() bool { return l == Layout1 || l == Layout2 }

// Namespace is what l puts before the name of every key of its own,
// after the configured key prefix: "" for layout 1, "vN:" for layout N.
func (l Layout) Namespace() string {
	if l == Layout1 {
		return ""
	}
	return "v" + strconv.Itoa(int(l)) + ":"
}

// Marker is the version byte that starts layout l's index values and
// forwards ("" for layout 1, which has none).
func (l Layout) Marker() string {
	if l == Layout1 {
		return ""
	}
	return string(rune(l))
}

func (l Layout) String() string { return "layout " + strconv.Itoa(int(l)) }

// macDomain separates the cookie MACs of layouts: a cookie of one
// layout never verifies as one of another.
func (l Layout) macDomain() string {
	return "session-v" + strconv.Itoa(int(l)) + "|"
}
