package main

import (
	"github.com/gin-gonic/gin"
	"net/http"
)

// noSession is the upper bound: the same page and form handling with no
// session layer at all. A request "is logged in" when it carries any session
// cookie; the page shows a fixed user with a fixed cart.
func noSession(p *page) http.Handler {
	cart := map[string]int64{"apple": 2, "pear": 1}
	r := newRouter()
	r.GET("/", func(c *gin.Context) {
		if _, err := c.Cookie("session"); err != nil {
			toLogin(c)
			return
		}
		p.index(c, "bench", snapshotOf("dark", cart))
	})
	r.POST("/login", func(c *gin.Context) {
		if _, ok := formName(c); !ok {
			badRequest(c)
			return
		}
		c.SetCookie("session", "fixed", 0, "/", "", false, true)
		toHome(c)
	})
	r.POST("/theme", func(c *gin.Context) {
		if _, ok := formTheme(c); !ok {
			badRequest(c)
			return
		}
		toHome(c)
	})
	r.POST("/cart/add", func(c *gin.Context) {
		if _, _, ok := formItem(c); !ok {
			badRequest(c)
			return
		}
		toHome(c)
	})
	return r
}
