package http

import "html"

// fixedHeaders are the values of headers that do not change from one
// response to the next, built once. A response gets them by assigning the
// slice to its header map: no canonicalising Set, no new slice per header
// per request. Each slice has no spare capacity, so an Add anywhere copies
// it instead of writing into it, and nothing writes a header's values in
// place (net/http copies the map before it writes it out).
type fixedHeaders struct {
	replica  []string
	csp      []string
	nosniff  []string
	referrer []string
	frames   []string
	hsts     []string

	noStore    []string
	varyCookie []string
	html       []string // Content-Type of pages and redirects
}

const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func newFixedHeaders(replica string) fixedHeaders {
	return fixedHeaders{
		replica:    one(replica),
		csp:        one(contentSecurityPolicy),
		nosniff:    one("nosniff"),
		referrer:   one("same-origin"),
		frames:     one("DENY"),
		hsts:       one("max-age=31536000"),
		noStore:    one("no-store"),
		varyCookie: one("Cookie"),
		html:       one("text/html; charset=utf-8"),
	}
}

// one is a header value as a slice without spare capacity.
func one(v string) []string { return []string{v}[:1:1] }

// redirect is a 303 See Other to a fixed path of this site, answered as
// net/http's Redirect answers it: Location; for GET and HEAD without a
// Content-Type yet, an HTML type, and for GET a one-link body. Built once,
// it spares every redirect the parsing and cleaning of the path and the
// formatting of the body.
type redirect struct {
	location []string
	body     []byte
}

func newRedirect(path string) redirect {
	// net/http writes body+"\n" with Fprintln; the body ends in "\n".
	return redirect{location: one(path), body: []byte("<a href=\"" + html.EscapeString(path) + "\">See Other</a>.\n\n")}
}

// redirects are the fixed targets handlers send browsers to.
type redirects struct {
	home, login, sessions redirect
}

func newRedirects() redirects {
	return redirects{home: newRedirect("/"), login: newRedirect("/login"), sessions: newRedirect("/sessions")}
}
