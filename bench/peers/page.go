package main

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/userdata"
	"github.com/sessiond/sessiond/templates"
)

// page renders the service's home page for every peer: the same template,
// fed the same userdata.Snapshot (theme and cart, sorted as the service
// sorts it), so the bytes on the wire are the service's.
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

// index answers a signed-in user's GET / with their data.
func (p *page) index(c *gin.Context, user string, data userdata.Snapshot) {
	h := c.Writer.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Cookie")
	c.Status(http.StatusOK)
	_ = p.pages.Render(c.Writer, "index", &templates.Page{
		Title: "Home", User: user, Data: data, Replica: p.replica,
	})
}

// snapshotOf is the user's data, as the service shows it, from a peer's
// own theme and cart.
func snapshotOf(theme string, cart map[string]int64) userdata.Snapshot {
	st := mapStore{"theme": theme}
	for item, qty := range cart {
		st["cart:"+item] = qty
	}
	return userdata.Of(st).Snapshot()
}

// mapStore is the read side of userdata.Store over a map, for peers that
// keep the user's data their own way. The peers never change data through
// it.
type mapStore map[string]any

var _ userdata.Store = mapStore(nil)

func (m mapStore) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (m mapStore) String(key string) string { s, _ := m[key].(string); return s }
func (m mapStore) Int(key string) int64     { n, _ := m[key].(int64); return n }

func (mapStore) Set(any, any)              { panic("peers: mapStore is read-only") }
func (mapStore) Delete(any)                { panic("peers: mapStore is read-only") }
func (mapStore) Incr(string, int64, int64) { panic("peers: mapStore is read-only") }
func (mapStore) AddFlash(any, ...string)   { panic("peers: mapStore is read-only") }
func (mapStore) Flashes(...string) []any   { return nil }

func toLogin(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/login") }
func toHome(c *gin.Context)  { c.Redirect(http.StatusSeeOther, "/") }

// The forms are read and checked by the service's own rules (userdata),
// with a plain 400 for anything refused.

func formName(c *gin.Context) (string, bool) {
	name, err := userdata.ParseName(c.PostForm("name"))
	return name, err == nil
}

func formTheme(c *gin.Context) (userdata.Theme, bool) {
	t, err := userdata.ParseTheme(c.PostForm("theme"))
	return t, err == nil
}

func formItem(c *gin.Context) (string, int64, bool) {
	item, err := userdata.ParseItem(c.PostForm("item"))
	if err != nil {
		return "", 0, false
	}
	qty, err := userdata.ParseQty(c.PostForm("qty"))
	return item, qty, err == nil
}

// themeValue is what a peer stores for t: nothing for System.
func themeValue(t userdata.Theme) string {
	if t == userdata.System {
		return ""
	}
	return string(t)
}

func badRequest(c *gin.Context) { c.String(http.StatusBadRequest, "bad request\n") }

func healthz(c *gin.Context) { c.String(http.StatusOK, "ok\n") }

func newRouter() *gin.Engine {
	r := gin.New()
	r.GET("/healthz", healthz)
	return r
}

// cartKey is the engine peer's field of an item, the one userdata reads.
func cartKey(item string) string { return "cart:" + item }
