package http

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/templates"
)

// Messages users see. Causes go to the log, never here.
const (
	msgInternal    = "Something went wrong on our side. Please try again."
	msgUnavailable = "Sessions are unavailable for a moment; you are still signed in. Please try again in a few seconds (a change you just made may or may not have been saved: check before repeating it)."
	msgConflict    = "Your session was being changed by another request at the same moment, and your change could not be applied. Please try again."
	msgLimit       = "That would go over a limit of your cart."
	msgTooLarge    = "The request is too large: bodies are limited to 8 KiB."
	msgMalformed   = "The form could not be read: it is malformed."
	msgNotFound    = "There is no page at this address."
	msgNoMethod    = "This address does not accept that method."
)

// inputError is a problem with what the user sent; its message is safe to
// show and says how to fix it.
type inputError struct {
	status int
	msg    string
}

func (e *inputError) Error() string { return e.msg }

func badInput(msg string) error { return &inputError{status: http.StatusBadRequest, msg: msg} }
func overLimit(msg string) error {
	return &inputError{status: http.StatusUnprocessableEntity, msg: msg}
}
func isAPI(c *gin.Context) bool           { return strings.HasPrefix(c.Request.URL.Path, "/api/") }
func (s *server) notFound(c *gin.Context) { s.fail(c, http.StatusNotFound, msgNotFound) }

func (s *server) methodNotAllowed(c *gin.Context) {
	s.fail(c, http.StatusMethodNotAllowed, msgNoMethod)
}

// fail answers status with a message safe to show: JSON {"error": msg} under
// /api/, an HTML page elsewhere. 503s carry Retry-After.
func (s *server) fail(c *gin.Context, status int, msg string) {
	if status == http.StatusServiceUnavailable {
		c.Header("Retry-After", retryAfter)
	}
	if isAPI(c) {
		c.AbortWithStatusJSON(status, gin.H{"error": msg})
		return
	}
	c.Abort()
	s.page(c, status, "error", &templates.Page{Title: http.StatusText(status), Message: msg, Status: status})
}

// sessionError answers a session failure: it is the engine middleware's
// ErrorFunc and the handlers' fallback. A store failure is a 503, never an
// empty session; a session ended concurrently reads as logged out.
func (s *server) sessionError(c *gin.Context, err error) {
	_ = c.Error(err)
	var in *inputError
	switch {
	case errors.As(err, &in):
		s.fail(c, in.status, in.msg)
	case errors.Is(err, session.ErrGone):
		loggedOut(c)
	case errors.Is(err, session.ErrUnavailable):
		s.fail(c, http.StatusServiceUnavailable, msgUnavailable)
	case errors.Is(err, session.ErrConflict):
		s.fail(c, http.StatusConflict, msgConflict)
	case errors.Is(err, session.ErrLimit):
		s.fail(c, http.StatusUnprocessableEntity, msgLimit)
	default:
		s.fail(c, http.StatusInternalServerError, msgInternal)
	}
}
