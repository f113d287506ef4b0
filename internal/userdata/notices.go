package userdata

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// MaxNotices is how many unread notices a session keeps; a new one drops
// the oldest. Programs that post without ever loading a page (curl, load
// tests) would otherwise pile them up.
const MaxNotices = 5

const noticePrefix = "notice:"

// Notify leaves a one-shot message ("Added 3 × apple") for the next page
// the user sees. It is a flash message under a field of its own, named by
// the time it was made and a random tail: concurrent requests never write
// the same field, so no change is refused over its notice, and notices
// read back in the order they were made.
func (d Data) Notify(msg string) {
	keys := d.noticeKeys()
	for len(keys) >= MaxNotices {
		d.st.Delete(keys[0])
		keys = keys[1:]
	}
	key := fmt.Sprintf("%s%019d-%08x", noticePrefix, time.Now().UnixNano(), rand.Uint32())
	d.st.AddFlash(msg, key)
}

// HasNotices tells whether notices wait to be shown.
func (d Data) HasNotices() bool { return len(d.noticeKeys()) > 0 }

// Notices returns the waiting notices, oldest first, and removes them: the
// commit that follows is what makes them shown once. Two pages loaded at
// the very same moment may both show one.
func (d Data) Notices() []string {
	var out []string
	for _, k := range d.noticeKeys() {
		for _, v := range d.st.Flashes(k) {
			if s, ok := v.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// noticeKeys are the notices' fields, oldest first (Keys is sorted, and
// the names start with a fixed-width time).
func (d Data) noticeKeys() []string {
	var out []string
	for _, k := range d.st.Keys() {
		if strings.HasPrefix(k, noticePrefix) {
			out = append(out, k)
		}
	}
	return out
}
