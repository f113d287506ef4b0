package http

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/userdata"
	"github.com/sessiond/sessiond/templates"
)

func (s *server) loginForm(c *gin.Context) {
	s.page(c, http.StatusOK, "login", &templates.Page{Title: "Sign in"})
}

// login stores a valid name in the session under a new session id: the id
// the browser came with (if any) stops working.
func (s *server) login(c *gin.Context, ch changer) {
	form, ok := s.readForm(c)
	if !ok {
		return
	}
	name, err := parsed(form, "name", userdata.ParseName)
	if err != nil {
		raw, _ := field(form, "name")
		s.fail(c, err, func(c *gin.Context, status int, msg string) {
			s.page(c, status, "login", &templates.Page{
				Title: "Sign in", Message: msg, Name: strings.ToValidUTF8(raw, "\uFFFD"),
			})
		})
		return
	}
	login := func(ss *session.Session) error { ss.Login(name); return nil }
	err = ch.change(c, login)
	if errors.Is(err, session.ErrGone) {
		// Revoked while we logged in: the engine dropped it, so this
		// logs in afresh.
		err = ch.change(c, login)
	}
	if errors.Is(err, session.ErrMoved) {
		// The same form sent twice (a double click): the other request
		// renamed the session and its answer carries the new cookie. This
		// one sets none, so the browser keeps the session with its data,
		// whichever answer it applies last.
		err = nil
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	s.seeOther(c, s.to.home)
}

// logoutPage changes nothing: it offers the logout button.
func (s *server) logoutPage(c *gin.Context) {
	s.page(c, http.StatusOK, "logout", &templates.Page{Title: "Log out"})
}

// logout deletes the session from the store and expires the cookie.
func (s *server) logout(c *gin.Context) {
	if err := s.endThis(c); err != nil {
		s.fail(c, err)
		return
	}
	s.seeOther(c, s.to.login)
}

// limitLogin counts the attempt against the client's address (Gin's
// ClientIP: X-Forwarded-For is believed only from trusted proxies). Over
// the limit the answer is 429 with Retry-After; when the limiter's store
// fails it is 503, like any store failure. It runs before the session is
// loaded and the form is read, so refused attempts cost one counter.
func (s *server) limitLogin(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.Sessions.Config().Timeout)
	defer cancel()
	d, err := s.LoginLimiter.Allow(ctx, c.ClientIP())
	switch {
	case err != nil:
		s.Metrics.loginAttempt("error")
		s.fail(c, fmt.Errorf("%w: login rate limit: %w", session.ErrUnavailable, err))
	case !d.Allowed:
		s.Metrics.loginAttempt("limited")
		secs := retrySeconds(d.RetryAfter)
		c.Header("Retry-After", strconv.Itoa(secs))
		s.errorPage(c, http.StatusTooManyRequests, tooManyLogins(secs))
	default:
		s.Metrics.loginAttempt("allowed")
	}
}

// retrySeconds is d in whole seconds, rounded up, at least 1.
func retrySeconds(d time.Duration) int {
	secs := math.Ceil(d.Seconds())
	if secs < 1 {
		return 1
	}
	if secs > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(secs)
}

func tooManyLogins(secs int) string {
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	return fmt.Sprintf("Too many sign-in attempts from your network address. Please wait %d %s and try again.", secs, unit)
}
