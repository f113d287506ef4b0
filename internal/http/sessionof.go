package http

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/ginsession"
	"github.com/sessiond/sessiond/internal/userdata"
)

// This file is the one place that reaches into the session engine's gin
// adapter: handlers get the request's session through sess and sessionOf.

// CookieName is the session cookie's name.
const CookieName = "session"

// The user's data is kept in the engine's sessions.
var _ userdata.Store = (*session.Session)(nil)

// loadSession loads the request's session (no store call without a valid
// cookie) and commits it before the response is written. A failure to
// load, or to commit what a handler left pending, is answered by
// sessionFailed.
func (s *server) loadSession() gin.HandlerFunc {
	return ginsession.Middleware(s.Sessions, s.sessionFailed)
}

// sess is the request's session, on routes behind loadSession.
func sess(c *gin.Context) *session.Session { return ginsession.From(c) }

// sessionOf is the request's session, or nil where there is none: routes
// without loadSession, and a request whose session could not be loaded.
func sessionOf(c *gin.Context) *session.Session { return ginsession.Of(c) }

// hasSessionCookie tells whether the request came with a session cookie,
// valid or not.
func hasSessionCookie(c *gin.Context) bool {
	ck, err := c.Request.Cookie(CookieName)
	return err == nil && ck.Value != ""
}

// sessionFailed answers the engine middleware's failures: a load (there
// is no session yet: nothing was written) or the commit of what the
// handler left pending. For a page view that is at most the refresh of
// last-seen, nothing the visitor did; for a form it was their change.
func (s *server) sessionFailed(c *gin.Context, err error) {
	if m := c.Request.Method; sessionOf(c) != nil && m != http.MethodGet && m != http.MethodHead {
		err = attempted(err)
	}
	s.fail(c, err)
}

// requireUser lets only signed-in sessions through: pages redirect to the
// login form, the API answers 401. Nothing is stored for the others.
func (s *server) requireUser(c *gin.Context) {
	if sess(c).User() == "" {
		s.loggedOut(c)
	}
}

// endThis deletes the request's session, if it is stored, and expires its
// cookie. One that ended meanwhile is fine. A cookie that a login of the
// same browser replaced a moment ago (the request left before the login's
// answer came back) ends the session the login renamed it to.
func (s *server) endThis(c *gin.Context) error {
	ss := sess(c)
	if ss.IsNew() && !ss.Moved() {
		return nil
	}
	ss.Destroy()
	if err := ss.Save(); err != nil && !errors.Is(err, session.ErrGone) {
		return attempted(err)
	}
	return nil
}
