package http

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/userdata"
	"github.com/sessiond/sessiond/templates"
)

// This file is how every handler reads what was sent and answers: the
// form, pages, and the one mapping of errors to answers (fail).

// readForm parses the request's form body (urlencoded or multipart). When
// it cannot, it answers 413 or 400 itself and returns false.
func (s *server) readForm(c *gin.Context) (url.Values, bool) {
	r := c.Request
	var err error
	if isMultipart(r.Header.Get("Content-Type")) {
		err = r.ParseMultipartForm(MaxBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		s.fail(c, fmt.Errorf("%w: %w", errMalformed, err))
		return nil, false
	}
	return r.PostForm, true
}

// isMultipart tells whether a Content-Type is multipart/form-data: its
// media type, as mime.ParseMediaType reads it (case and spaces aside),
// without building the map of parameters that ParseMediaType returns.
// ParseForm parses the type again and refuses a malformed one.
func isMultipart(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "multipart/form-data")
}

// field returns the one value of name in form ("" when absent).
func field(form url.Values, name string) (string, error) {
	switch vs := form[name]; len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	default:
		return "", userdata.Invalidf("The field %q was sent more than once.", name)
	}
}

// parsed is field's value read by parse, the field's rule.
func parsed[T any](form url.Values, name string, parse func(string) (T, error)) (T, error) {
	raw, err := field(form, name)
	if err != nil {
		var zero T
		return zero, err
	}
	return parse(raw)
}

// Messages users see. Each says only what is true for whoever gets it;
// causes go to the log, never here.
const (
	msgInternal = "Something went wrong on our side. Please try again."
	// A store failure before anything was written: a load, a listing, the
	// login rate limit.
	msgUnavailable = "Sessions are unavailable for a moment, so nothing was done. If you were signed in, you still are. Please try again in a few seconds."
	// A write of a session that exists failed: it may have been applied
	// before the answer was lost.
	msgUnsure = "Sessions are unavailable for a moment, and we cannot tell whether what you just did went through: your session may or may not have changed. Please check in a few seconds before you repeat it."
	// A visitor with no session: whatever was attempted, they have none.
	msgNotSignedIn = "You are not signed in: signing in is unavailable for a moment. Please try again in a few seconds."
	msgConflict    = "Your session was being changed by another request at the same moment, and your change could not be applied. Please try again."
	msgRenewed     = "You signed in again in another window or tab at the same moment, so this change was not applied. Please try again."
	msgLimit       = "That would go over a limit of your cart."
	msgTooLarge    = "The request is too large: bodies are limited to 8 KiB."
	msgMalformed   = "The form could not be read: it is malformed."
	msgNotFound    = "There is no page at this address."
	msgNoMethod    = "This address does not accept that method."
	msgCrossOrigin = "Cross-origin request refused: this can only be sent from this site's own pages."
)

// errMalformed is a form body that cannot be parsed.
var errMalformed = errors.New("malformed form")

// writeError marks a store failure that came after a write was sent: the
// write may or may not have been applied.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// attempted marks err as the failure of an attempted write.
func attempted(err error) error {
	if err == nil {
		return nil
	}
	return &writeError{err: err}
}

// refusedOn shows a refused input on the page its form is on, again, with
// the message; fail without one shows the error page.
type refusedOn func(c *gin.Context, status int, msg string)

// fail answers a request that failed with err. It is the one mapping of
// errors to answers: refused input 400 or 422 (on the form's page when
// there is one), a session that ended meanwhile as logged out, a store
// failure 503 with what is true for this visitor, a lost race 409, the
// rest 500.
func (s *server) fail(c *gin.Context, err error, on ...refusedOn) {
	_ = c.Error(err)
	status, msg := http.StatusInternalServerError, msgInternal
	var refused *userdata.Error
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &refused):
		status, msg = http.StatusBadRequest, refused.Message
		if refused.Code == userdata.OverLimit {
			status = http.StatusUnprocessableEntity
		}
	case errors.Is(err, session.ErrLimit): // the store refused to pass MaxQty
		status, msg = http.StatusUnprocessableEntity, msgLimit
	case errors.As(err, &tooBig):
		status, msg = http.StatusRequestEntityTooLarge, msgTooLarge
	case errors.Is(err, errMalformed):
		status, msg = http.StatusBadRequest, msgMalformed
	case errors.Is(err, session.ErrGone):
		s.loggedOut(c)
		return
	case errors.Is(err, session.ErrUnavailable):
		status, msg = http.StatusServiceUnavailable, outageMessage(c, err)
	case errors.Is(err, session.ErrConflict):
		status, msg = http.StatusConflict, msgConflict
	case errors.Is(err, session.ErrMoved): // a retry after a conflict met a login's rename
		status, msg = http.StatusConflict, msgRenewed
	}
	if len(on) > 0 && on[0] != nil && (status == http.StatusBadRequest || status == http.StatusUnprocessableEntity) {
		c.Abort()
		on[0](c, status, msg)
		return
	}
	s.errorPage(c, status, msg)
}

// outageMessage says what a store failure means for this visitor: with no
// session they are not signed in; a failed write of their session may
// have been applied; a failure before any write changed nothing.
func outageMessage(c *gin.Context, err error) string {
	var wrote *writeError
	anonymous := !hasSessionCookie(c)
	if ss := sessionOf(c); ss != nil {
		anonymous = ss.IsNew()
	}
	switch {
	case anonymous:
		return msgNotSignedIn
	case errors.As(err, &wrote):
		return msgUnsure
	default:
		return msgUnavailable
	}
}

// errorPage answers status with a message safe to show: JSON
// {"error": msg} under /api/, an HTML page elsewhere. 503s carry
// Retry-After.
func (s *server) errorPage(c *gin.Context, status int, msg string) {
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

func isAPI(c *gin.Context) bool { return strings.HasPrefix(c.Request.URL.Path, "/api/") }

func (s *server) notFound(c *gin.Context) { s.errorPage(c, http.StatusNotFound, msgNotFound) }

func (s *server) methodNotAllowed(c *gin.Context) {
	s.errorPage(c, http.StatusMethodNotAllowed, msgNoMethod)
}

// loggedOut answers a visitor without a signed-in session: pages go to
// the login form, the API answers 401.
func (s *server) loggedOut(c *gin.Context) {
	if isAPI(c) {
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "not logged in"})
		return
	}
	s.seeOther(c, s.to.login)
	c.Abort()
}

// seeOther answers 303 See Other to one of the site's fixed paths, as
// net/http's Redirect would (see redirect).
func (s *server) seeOther(c *gin.Context, to redirect) {
	h := c.Writer.Header()
	_, hadType := h["Content-Type"]
	h["Location"] = to.location
	m := c.Request.Method
	if !hadType && (m == http.MethodGet || m == http.MethodHead) {
		h["Content-Type"] = s.fixed.html
	}
	c.Writer.WriteHeader(http.StatusSeeOther)
	if !hadType && m == http.MethodGet {
		_, _ = c.Writer.Write(to.body)
	}
}

// page renders an HTML page with the replica, and the name and data of
// the request's user if there is one (anonymous pages follow the system
// theme).
func (s *server) page(c *gin.Context, status int, name string, p *templates.Page) {
	p.Replica = s.Replica
	if ss := sessionOf(c); ss != nil && ss.User() != "" {
		p.User = ss.User()
		p.Data = userdata.Of(ss).Snapshot()
	}
	// Render writes the page with one Write, or nothing when it fails.
	// A Content-Type set before stays, as with gin's Data.
	h := c.Writer.Header()
	typed := len(h["Content-Type"]) > 0
	if !typed {
		h["Content-Type"] = s.fixed.html
	}
	c.Status(status)
	if err := s.Pages.Render(c.Writer, name, p); err != nil {
		_ = c.Error(err)
		if !typed {
			delete(h, "Content-Type") // the text answer sets its own
		}
		c.String(http.StatusInternalServerError, msgInternal+"\n")
	}
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
