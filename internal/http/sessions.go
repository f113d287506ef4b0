package http

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/ginsession"
	"github.com/sessiond/sessiond/templates"
)

// sessionsPage lists the user's sessions, with revoke buttons.
func (s *server) sessionsPage(c *gin.Context) {
	ss := ginsession.From(c)
	list, err := s.Sessions.List(c.Request.Context(), ss.User(), ss)
	if err != nil {
		s.sessionError(c, err)
		return
	}
	rows := make([]templates.SessionRow, len(list))
	for i, in := range list {
		rows[i] = templates.SessionRow{
			ID: in.ID, Device: in.Device, CreatedAt: in.CreatedAt, LastSeen: in.LastSeen,
			ExpiresAt: in.ExpiresAt, Current: in.Current,
		}
	}
	s.page(c, http.StatusOK, "sessions", &templates.Page{Title: "Your sessions", Sessions: rows})
}

// revoke ends one session of the current user, chosen by its public id.
// Ending the current one is a logout.
func (s *server) revoke(c *gin.Context) {
	form, ok := s.readForm(c)
	if !ok {
		return
	}
	raw, err := field(form, "id")
	var id string
	if err == nil {
		id, err = parseSessionID(raw)
	}
	if err != nil {
		s.sessionError(c, err)
		return
	}
	ss := ginsession.From(c)
	if id == ss.ID() {
		s.logout(c)
		return
	}
	found, err := s.Sessions.Revoke(c.Request.Context(), ss.User(), id)
	switch {
	case err != nil:
		s.sessionError(c, err)
	case !found:
		s.fail(c, http.StatusNotFound, "There is no such session among yours; it may have ended already.")
	default:
		c.Redirect(http.StatusSeeOther, "/sessions")
	}
}

// revokeAll ends every session of the current user, this one included.
func (s *server) revokeAll(c *gin.Context) {
	ss := ginsession.From(c)
	if _, err := s.Sessions.RevokeAll(c.Request.Context(), ss.User()); err != nil {
		s.sessionError(c, err)
		return
	}
	ss.Destroy()
	if err := ss.Save(); err != nil && !errors.Is(err, session.ErrGone) {
		s.sessionError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/login")
}
