package http

import (
	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/userdata"
)

// setTheme stores the theme chosen: light, dark, or system (no stored
// choice: the device's setting decides).
func (s *server) setTheme(c *gin.Context, ch changer) {
	form, ok := s.readForm(c)
	if !ok {
		return
	}
	theme, err := parsed(form, "theme", userdata.ParseTheme)
	if err == nil {
		err = ch.change(c, func(ss *session.Session) error {
			d := userdata.Of(ss)
			d.SetTheme(theme)
			d.Notify("Theme saved: " + theme.Label() + ".")
			return nil
		})
	}
	s.backHome(c, err)
}
