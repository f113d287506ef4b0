package http

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/ginsession"
	"github.com/sessiond/sessiond/templates"
)

// index greets a signed-in user with their theme and cart; others go to
// the login form.
func (s *server) index(c *gin.Context) {
	if ginsession.From(c).User() == "" {
		c.Redirect(http.StatusSeeOther, "/login")
		return
	}
	s.home(c, http.StatusOK, "")
}

func (s *server) loginForm(c *gin.Context) {
	s.page(c, http.StatusOK, "login", &templates.Page{Title: "Sign in"})
}

// login stores a valid name in the session under a new session id: the id
// the browser came with (if any) stops working.
func (s *server) login(c *gin.Context) {
	form, ok := s.readForm(c)
	if !ok {
		return
	}
	raw, err := field(form, "name")
	var name string
	if err == nil {
		name, err = parseName(raw)
	}
	if err != nil {
		_ = c.Error(err)
		s.page(c, http.StatusBadRequest, "login", &templates.Page{
			Title: "Sign in", Message: err.Error(), Name: strings.ToValidUTF8(raw, "\uFFFD"),
		})
		return
	}
	login := func(ss *session.Session) error { ss.Login(name); return nil }
	err = s.change(c, login)
	if errors.Is(err, session.ErrGone) {
		// Revoked while we logged in: the engine dropped it, so this
		// logs in afresh.
		err = s.change(c, login)
	}
	if err != nil {
		s.sessionError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/")
}

// logoutPage changes nothing: it offers the logout button.
func (s *server) logoutPage(c *gin.Context) {
	s.page(c, http.StatusOK, "logout", &templates.Page{Title: "Log out"})
}

// logout deletes the session from the store and expires the cookie.
func (s *server) logout(c *gin.Context) {
	ss := ginsession.From(c)
	if !ss.IsNew() {
		ss.Destroy()
		if err := ss.Save(); err != nil && !errors.Is(err, session.ErrGone) {
			s.sessionError(c, err)
			return
		}
	}
	c.Redirect(http.StatusSeeOther, "/login")
}

func (s *server) setTheme(c *gin.Context) {
	form, ok := s.readForm(c)
	if !ok {
		return
	}
	raw, err := field(form, "theme")
	var theme string
	if err == nil {
		theme, err = parseTheme(raw)
	}
	if err == nil {
		err = s.change(c, func(ss *session.Session) error { ss.Set(themeKey, theme); return nil })
	}
	s.done(c, err)
}

// done ends a change of the home page: 303 back to it, the page again with
// the message for a refused input, or the session error.
func (s *server) done(c *gin.Context, err error) {
	var in *inputError
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, "/")
	case errors.As(err, &in):
		_ = c.Error(err)
		s.home(c, in.status, in.msg)
	case errors.Is(err, session.ErrLimit):
		_ = c.Error(err)
		s.home(c, http.StatusUnprocessableEntity, msgLimit)
	default:
		s.sessionError(c, err)
	}
}
