package http

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/ginsession"
	"github.com/sessiond/sessiond/templates"
)

// page renders an HTML page with the replica, and the user and theme of
// the request's session if it has one.
func (s *server) page(c *gin.Context, status int, name string, p *templates.Page) {
	p.Replica = s.Replica
	if ss := sessionOf(c); ss != nil && ss.User() != "" {
		p.User = ss.User()
		p.Theme = themeOf(ss)
	}
	var buf bytes.Buffer
	if err := s.Pages.Render(&buf, name, p); err != nil {
		_ = c.Error(err)
		c.String(http.StatusInternalServerError, msgInternal+"\n")
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// sessionOf is the request's session, or nil on routes without one.
func sessionOf(c *gin.Context) *session.Session { return ginsession.Of(c) }

const (
	themeKey   = "theme"
	cartPrefix = "cart:"
)

// themeOf is the session's theme; "light" until one is chosen.
func themeOf(ss *session.Session) string {
	if t := ss.String(themeKey); t == "dark" {
		return t
	}
	return "light"
}

// cartOf lists the cart, sorted by item.
func cartOf(ss *session.Session) []templates.CartLine {
	var out []templates.CartLine
	for _, k := range ss.Keys() {
		item, ok := strings.CutPrefix(k, cartPrefix)
		if !ok {
			continue
		}
		if n := ss.Int(k); n > 0 {
			out = append(out, templates.CartLine{Item: item, Qty: n})
		}
	}
	return out
}

// home renders the signed-in home page, with a message when a change was
// refused.
func (s *server) home(c *gin.Context, status int, msg string) {
	ss := ginsession.From(c)
	s.page(c, status, "index", &templates.Page{
		Title: "Home", Message: msg, Cart: cartOf(ss), MaxQty: MaxQty, MaxCart: MaxCart,
	})
}
