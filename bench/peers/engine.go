package main

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/ginsession"
	"github.com/sessiond/sessiond/internal/session/redisstore"
	"github.com/sessiond/sessiond/internal/userdata"
)

// enginePeer is our session engine (internal/session) with the same minimal
// handlers as the other peers: no logging, metrics or security middleware.
// Set against the real service it shows what the service adds on top.
func enginePeer(p *page, o options) (http.Handler, func(), error) {
	client := redis.NewClient(&redis.Options{Addr: o.redisAddr, DB: o.db})
	m, err := session.NewManager(session.Config{
		Backend:   redisstore.New(client),
		Keys:      [][]byte{[]byte(o.secret)},
		KeyPrefix: o.prefix,
	})
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	onError := func(c *gin.Context, err error) {
		code := http.StatusConflict
		if session.IsUnavailable(err) {
			code = http.StatusServiceUnavailable
		}
		c.String(code, "session: %v\n", err)
	}
	r := newRouter()
	g := r.Group("/", ginsession.Middleware(m, onError))
	g.GET("/", func(c *gin.Context) {
		s := ginsession.From(c)
		user := s.User()
		if user == "" {
			toLogin(c)
			return
		}
		p.index(c, user, userdata.Of(s).Snapshot())
	})
	g.POST("/login", func(c *gin.Context) {
		name, ok := formName(c)
		if !ok {
			badRequest(c)
			return
		}
		ginsession.From(c).Login(name)
		toHome(c)
	})
	g.POST("/theme", func(c *gin.Context) {
		theme, ok := formTheme(c)
		if !ok {
			badRequest(c)
			return
		}
		s := ginsession.From(c)
		if s.User() == "" {
			toLogin(c)
			return
		}
		if v := themeValue(theme); v != "" {
			s.Set("theme", v)
		} else {
			s.Delete("theme")
		}
		toHome(c)
	})
	g.POST("/cart/add", func(c *gin.Context) {
		item, qty, ok := formItem(c)
		if !ok {
			badRequest(c)
			return
		}
		s := ginsession.From(c)
		if s.User() == "" {
			toLogin(c)
			return
		}
		s.Incr(cartKey(item), qty, userdata.MaxQty)
		toHome(c)
	})
	return r, func() { client.Close() }, nil
}
