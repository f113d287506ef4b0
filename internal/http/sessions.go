package http

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/http/input"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/userdata"
	"github.com/sessiond/sessiond/templates"
)

// mySessions lists the user's sessions as people look for them: this one
// first, then the most recently used.
func (s *server) mySessions(c *gin.Context) ([]session.Info, error) {
	ss := sess(c)
	list, err := s.Sessions.List(c.Request.Context(), ss.User(), ss)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(list, func(a, b session.Info) int {
		if a.Current != b.Current {
			if a.Current {
				return -1
			}
			return 1
		}
		return b.LastSeen.Compare(a.LastSeen)
	})
	return list, nil
}

// sessionsPage lists the user's sessions, with revoke buttons.
func (s *server) sessionsPage(c *gin.Context, ch changer) {
	list, err := s.mySessions(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	notices, ok := ch.takeNotices(c)
	if !ok {
		return
	}
	cfg := s.Sessions.Config()
	now := cfg.Now()
	view := &templates.SessionList{Now: now, IdleTimeout: cfg.IdleTimeout, Lifetime: cfg.Lifetime}
	for _, in := range list {
		row := templates.SessionRow{
			ID: in.ID, Device: in.Device, CreatedAt: in.CreatedAt, LastSeen: in.LastSeen,
			ExpiresAt: in.ExpiresAt, Current: in.Current,
		}
		if in.Current {
			// This request is a use of it: the stored last-seen is
			// refreshed only every few minutes, the page says "just now".
			row.LastSeen = now
			row.ExpiresAt = sess(c).ExpiresIfUsedAt(now)
		}
		view.Rows = append(view.Rows, row)
	}
	s.page(c, http.StatusOK, "sessions", &templates.Page{Title: "Your sessions", Notices: notices, Sessions: view})
}

// revoke ends one session of the current user, chosen by its public id.
// Ending the current one is a logout.
func (s *server) revoke(c *gin.Context, ch changer) {
	form, ok := s.readForm(c)
	if !ok {
		return
	}
	id, err := parsed(form, "id", sessionID)
	if err != nil {
		s.fail(c, err)
		return
	}
	ss := sess(c)
	if id == ss.ID() {
		if err := s.endThis(c); err != nil {
			s.fail(c, err)
			return
		}
		s.seeOther(c, s.to.login)
		return
	}
	list, err := s.mySessions(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	i := slices.IndexFunc(list, func(in session.Info) bool { return in.ID == id })
	found := false
	if i >= 0 {
		found, err = s.Sessions.Revoke(c.Request.Context(), ss.User(), id)
	}
	switch {
	case err != nil:
		s.fail(c, attempted(err))
	case !found:
		s.errorPage(c, http.StatusNotFound, "There is no such session among yours; it may have ended already.")
	default:
		ch.notifyThenGo(c, s.to.sessions, fmt.Sprintf("Signed out of %s.", list[i].Device))
	}
}

// revokeOthers ends every session of the current user but this one, in a
// fixed number of store calls whatever their number.
func (s *server) revokeOthers(c *gin.Context, ch changer) {
	ss := sess(c)
	ended, err := s.Sessions.RevokeOthers(c.Request.Context(), ss.User(), ss)
	if err != nil {
		s.fail(c, attempted(err))
		return
	}
	msg := "You were signed in nowhere else."
	if ended > 0 {
		msg = fmt.Sprintf("Signed out of %d other %s.", ended, plural(ended, "session", "sessions"))
	}
	ch.notifyThenGo(c, s.to.sessions, msg)
}

// revokeAll ends every session of the current user, this one included. A
// cookie that a login of the same browser replaced a moment ago ends the
// session the login renamed it to (see endThis).
func (s *server) revokeAll(c *gin.Context) {
	switch user := sess(c).User(); {
	case user != "":
		if _, err := s.Sessions.RevokeAll(c.Request.Context(), user); err != nil {
			s.fail(c, attempted(err))
			return
		}
	case !sess(c).Moved():
		s.loggedOut(c)
		return
	}
	if err := s.endThis(c); err != nil {
		s.fail(c, err)
		return
	}
	s.seeOther(c, s.to.login)
}

func (s *server) apiSessions(c *gin.Context) {
	list, err := s.mySessions(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]apiSession, len(list))
	for i, in := range list {
		out[i] = apiSession{
			ID: in.ID, Device: in.Device, CreatedAt: rfc3339(in.CreatedAt), LastSeen: rfc3339(in.LastSeen),
			ExpiresAt: rfc3339(in.ExpiresAt), Current: in.Current,
		}
	}
	c.JSON(http.StatusOK, out)
}

type apiSession struct {
	ID        string `json:"id"`
	Device    string `json:"device"`
	CreatedAt string `json:"created_at"`
	LastSeen  string `json:"last_seen"`
	ExpiresAt string `json:"expires_at"`
	Current   bool   `json:"current"`
}

// sessionID checks a public session id (see input.ValidSessionID).
func sessionID(v string) (string, error) {
	if !input.ValidSessionID(v) {
		return "", userdata.Invalidf("That is not a session id.")
	}
	return v, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
