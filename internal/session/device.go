package session

import "strings"

// device is what a session shows of the User-Agent it was created with: a
// browser and an operating system, one byte each (indexes into the tables
// below, plus 'a'), for a short, human label ("Firefox on Linux"). It is a
// hint, not an identity. The tables only ever grow at their ends: stored
// sessions keep their labels.
type device struct {
	browser, os byte
}

var browsers = []struct{ token, name string }{
	{"", "Unknown browser"},
	{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"},
	{"HeadlessChrome/", "Headless Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
	{"Safari/", "Safari"}, {"curl/", "curl"}, {"Wget/", "Wget"},
	{"Go-http-client/", "Go client"}, {"python-requests/", "Python"},
}

var systems = []struct{ token, name string }{
	{"", ""},
	{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"},
	{"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
}

// deviceOf reads a User-Agent.
func deviceOf(ua string) device {
	d := device{browser: 'a', os: 'a'}
	for i, b := range browsers[1:] {
		if strings.Contains(ua, b.token) {
			d.browser = byte('a' + 1 + i)
			break
		}
	}
	for i, o := range systems[1:] {
		if strings.Contains(ua, o.token) {
			d.os = byte('a' + 1 + i)
			break
		}
	}
	return d
}

// label is the device's name for people.
func (d device) label() string {
	b, o := int(d.browser)-'a', int(d.os)-'a'
	browser := browsers[0].name
	if b > 0 && b < len(browsers) {
		browser = browsers[b].name
	}
	if o > 0 && o < len(systems) {
		return browser + " on " + systems[o].name
	}
	return browser
}
