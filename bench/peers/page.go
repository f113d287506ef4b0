package main

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/templates"
)

// Limits shared by every peer (the service's own).
const (
	maxNameLen = 64
	maxItemLen = 40
	maxQty     = 99
	maxCart    = 20
)

// page renders the service's index page for every peer.
type page struct {
	pages   *templates.Pages
	replica string
}

func newPage(replica string) (*page, error) {
	p, err := templates.Parse()
	if err != nil {
		return nil, err
	}
	return &page{pages: p, replica: replica}, nil
}

func (p *page) index(c *gin.Context, user, theme string, cart map[string]int64) {
	lines := make([]templates.CartLine, 0, len(cart))
	for item, qty := range cart {
		if qty > 0 {
			lines = append(lines, templates.CartLine{Item: item, Qty: qty})
		}
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].Item < lines[j].Item })
	if theme == "" {
		theme = "light"
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Cookie")
	c.Status(http.StatusOK)
	_ = p.pages.Render(c.Writer, "index", &templates.Page{
		User: user, Theme: theme, Replica: p.replica, Cart: lines,
		MaxQty: maxQty, MaxCart: maxCart,
	})
}

func toLogin(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/login") }
func toHome(c *gin.Context)  { c.Redirect(http.StatusSeeOther, "/") }

// validText applies the service's rule for names and items: trimmed,
// 1..max characters, valid UTF-8, no control characters.
func validText(s string, max int) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return "", false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", false
		}
	}
	return s, true
}

func formName(c *gin.Context) (string, bool) {
	return validText(c.PostForm("name"), maxNameLen)
}

func formTheme(c *gin.Context) (string, bool) {
	t := c.PostForm("theme")
	return t, t == "light" || t == "dark"
}

func formItem(c *gin.Context) (string, int64, bool) {
	item, ok := validText(c.PostForm("item"), maxItemLen)
	if !ok {
		return "", 0, false
	}
	qty := int64(1)
	if q := c.PostForm("qty"); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil || n < 1 || n > maxQty {
			return "", 0, false
		}
		qty = n
	}
	return item, qty, true
}

func badRequest(c *gin.Context) { c.String(http.StatusBadRequest, "bad request\n") }

func healthz(c *gin.Context) { c.String(http.StatusOK, "ok\n") }

func newRouter() *gin.Engine {
	r := gin.New()
	r.GET("/healthz", healthz)
	return r
}
