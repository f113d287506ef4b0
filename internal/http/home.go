package http

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/userdata"
	"github.com/sessiond/sessiond/templates"
)

// index greets a signed-in user with their theme, cart and notices;
// others go to the login form.
func (s *server) index(c *gin.Context, ch changer) {
	if sess(c).User() == "" {
		s.seeOther(c, s.to.login)
		return
	}
	notices, ok := ch.takeNotices(c)
	if !ok {
		return
	}
	s.page(c, http.StatusOK, "index", &templates.Page{Title: "Home", Notices: notices})
}

// homeWith shows the home page again with why a change was refused.
func (s *server) homeWith(c *gin.Context, status int, msg string) {
	s.page(c, status, "index", &templates.Page{Title: "Home", Message: msg})
}

// backHome ends a change made from the home page: 303 back to it, or the
// page again with why the change was refused, or the failure's answer.
func (s *server) backHome(c *gin.Context, err error) {
	if err != nil {
		s.fail(c, err, s.homeWith)
		return
	}
	s.seeOther(c, s.to.home)
}

type apiMe struct {
	Name string `json:"name"`
	// Theme is light or dark, as it always was: light unless the user
	// chose dark (the System default follows a device the server cannot
	// see). ThemeChoice is the stored choice itself: system, light or dark.
	Theme       userdata.Theme `json:"theme"`
	ThemeChoice userdata.Theme `json:"theme_choice"`
	Cart        userdata.Cart  `json:"cart"`
	Session     apiTimes       `json:"session"`
}

type apiTimes struct {
	CreatedAt string `json:"created_at"`
	ExpiresAt string `json:"expires_at"`
}

// apiMe is the home page's data as JSON: the name, the user's data and
// the session's times.
func (s *server) apiMe(c *gin.Context) {
	ss := sess(c)
	snap := userdata.Of(ss).Snapshot()
	theme := userdata.Light
	if snap.Theme == userdata.Dark {
		theme = userdata.Dark
	}
	c.JSON(http.StatusOK, apiMe{
		Name: ss.User(), Theme: theme, ThemeChoice: snap.Theme, Cart: snap.Cart,
		Session: apiTimes{CreatedAt: rfc3339(ss.Created()), ExpiresAt: rfc3339(ss.ExpiresAt())},
	})
}
