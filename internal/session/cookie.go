package session

import (
	"net/http"
	"time"
)

// Cookie is the policy of the session cookie, in one place: its name and
// attributes. Its value is always an opaque signed token.
type Cookie struct {
	// Name of the cookie (default "session").
	Name string
	// Path (default "/") and Domain (default: the request's host only).
	Path, Domain string
	// Persistent makes the cookie last the session's Lifetime (Max-Age);
	// otherwise it is a browser-session cookie. The server-side expiry is
	// the same either way.
	Persistent bool
	// Secure decides the Secure attribute per request (default: the
	// request came over TLS).
	Secure func(*http.Request) bool
}

// CookieOptions override the policy's attributes for one session, as
// gin-contrib's and gorilla's Options do. MaxAge < 0 destroys the session;
// MaxAge > 0 replaces the policy's Max-Age.
type CookieOptions struct {
	Path, Domain string
	MaxAge       int
	Secure       bool
	HttpOnly     bool
	SameSite     http.SameSite
}

func (c Cookie) withDefaults() Cookie {
	if c.Name == "" {
		c.Name = "session"
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if c.Secure == nil {
		c.Secure = func(r *http.Request) bool { return r.TLS != nil }
	}
	return c
}

// build returns the cookie named name for r: HttpOnly, SameSite=Lax, with
// Max-Age until deadline when persistent (zero deadline: none), overridden
// by o when set.
func (c Cookie) build(name string, r *http.Request, deadline time.Time, o *CookieOptions) *http.Cookie {
	hc := &http.Cookie{
		Name:     name,
		Path:     c.Path,
		Domain:   c.Domain,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   c.Secure(r),
	}
	if c.Persistent && !deadline.IsZero() {
		hc.MaxAge = int(time.Until(deadline).Seconds())
	}
	if o != nil {
		hc.Path, hc.Domain, hc.HttpOnly, hc.SameSite = o.Path, o.Domain, o.HttpOnly, o.SameSite
		hc.Secure = o.Secure || hc.Secure
		if o.MaxAge > 0 {
			hc.MaxAge = o.MaxAge
		}
	}
	return hc
}
