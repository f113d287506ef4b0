package main

import (
	"encoding/gob"
	"net/http"
	"strconv"

	"github.com/gin-contrib/sessions"
	gcredis "github.com/gin-contrib/sessions/redis"
	"github.com/gin-gonic/gin"
)

// ginContrib is gin-contrib/sessions with its Redis store (boj/redistore on
// redigo), configured as its README shows. It has no API to give a session a
// new id, so login keeps the id the browser came with (or makes one).
func ginContrib(p *page, o options) (http.Handler, func(), error) {
	gob.Register(map[string]int64{})
	store, err := gcredis.NewStoreWithDB(o.poolIdle, "tcp", o.redisAddr, "", "", strconv.Itoa(o.db), []byte(o.secret))
	if err != nil {
		return nil, nil, err
	}
	if o.prefix != "" {
		if err := gcredis.SetKeyPrefix(store, o.prefix); err != nil {
			return nil, nil, err
		}
	}
	store.Options(sessions.Options{Path: "/", MaxAge: 86400, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	rs, err := gcredis.GetRedisStore(store)
	if err != nil {
		return nil, nil, err
	}

	r := newRouter()
	g := r.Group("/", sessions.Sessions("session", store))
	g.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		name, _ := s.Get("name").(string)
		if name == "" {
			toLogin(c)
			return
		}
		theme, _ := s.Get("theme").(string)
		cart, _ := s.Get("cart").(map[string]int64)
		p.index(c, name, snapshotOf(theme, cart))
	})
	g.POST("/login", func(c *gin.Context) {
		name, ok := formName(c)
		if !ok {
			badRequest(c)
			return
		}
		s := sessions.Default(c)
		s.Set("name", name)
		if err := s.Save(); err != nil {
			c.String(http.StatusServiceUnavailable, "store: %v\n", err)
			return
		}
		toHome(c)
	})
	g.POST("/theme", func(c *gin.Context) {
		theme, ok := formTheme(c)
		if !ok {
			badRequest(c)
			return
		}
		s := sessions.Default(c)
		if name, _ := s.Get("name").(string); name == "" {
			toLogin(c)
			return
		}
		s.Set("theme", themeValue(theme))
		if err := s.Save(); err != nil {
			c.String(http.StatusServiceUnavailable, "store: %v\n", err)
			return
		}
		toHome(c)
	})
	g.POST("/cart/add", func(c *gin.Context) {
		item, qty, ok := formItem(c)
		if !ok {
			badRequest(c)
			return
		}
		s := sessions.Default(c)
		if name, _ := s.Get("name").(string); name == "" {
			toLogin(c)
			return
		}
		old, _ := s.Get("cart").(map[string]int64)
		cart := make(map[string]int64, len(old)+1)
		for k, v := range old {
			cart[k] = v
		}
		cart[item] += qty
		s.Set("cart", cart)
		if err := s.Save(); err != nil {
			c.String(http.StatusServiceUnavailable, "store: %v\n", err)
			return
		}
		toHome(c)
	})
	return r, func() { rs.Close() }, nil
}
