package main

import (
	"encoding/gob"
	"net/http"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
)

// scsPeer is alexedwards/scs v2 with its go-redis store, LoadAndSave around
// the Gin router, defaults as documented (24h lifetime, no idle timeout, so a
// read-only request writes nothing). Login renews the token.
func scsPeer(p *page, o options) (http.Handler, func(), error) {
	gob.Register(map[string]int64{})
	client := redis.NewClient(&redis.Options{Addr: o.redisAddr, DB: o.db})
	sm := scs.New()
	if o.prefix != "" {
		sm.Store = goredisstore.NewWithPrefix(client, o.prefix)
	} else {
		sm.Store = goredisstore.New(client)
	}
	sm.Lifetime = 24 * time.Hour
	sm.Cookie.Name = "session"
	sm.Cookie.Persist = false
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		http.Error(w, "store: "+err.Error(), http.StatusServiceUnavailable)
	}

	r := newRouter()
	r.GET("/", func(c *gin.Context) {
		ctx := c.Request.Context()
		name := sm.GetString(ctx, "name")
		if name == "" {
			toLogin(c)
			return
		}
		cart, _ := sm.Get(ctx, "cart").(map[string]int64)
		p.index(c, name, snapshotOf(sm.GetString(ctx, "theme"), cart))
	})
	r.POST("/login", func(c *gin.Context) {
		name, ok := formName(c)
		if !ok {
			badRequest(c)
			return
		}
		ctx := c.Request.Context()
		if err := sm.RenewToken(ctx); err != nil {
			c.String(http.StatusServiceUnavailable, "store: %v\n", err)
			return
		}
		sm.Put(ctx, "name", name)
		toHome(c)
	})
	r.POST("/theme", func(c *gin.Context) {
		theme, ok := formTheme(c)
		if !ok {
			badRequest(c)
			return
		}
		ctx := c.Request.Context()
		if sm.GetString(ctx, "name") == "" {
			toLogin(c)
			return
		}
		sm.Put(ctx, "theme", themeValue(theme))
		toHome(c)
	})
	r.POST("/cart/add", func(c *gin.Context) {
		item, qty, ok := formItem(c)
		if !ok {
			badRequest(c)
			return
		}
		ctx := c.Request.Context()
		if sm.GetString(ctx, "name") == "" {
			toLogin(c)
			return
		}
		old, _ := sm.Get(ctx, "cart").(map[string]int64)
		cart := make(map[string]int64, len(old)+1)
		for k, v := range old {
			cart[k] = v
		}
		cart[item] += qty
		sm.Put(ctx, "cart", cart)
		toHome(c)
	})
	return sm.LoadAndSave(r), func() { client.Close() }, nil
}
