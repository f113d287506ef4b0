package http

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// healthz is 200 while the process serves.
func (s *server) healthz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.String(http.StatusOK, "ok\n")
}

// readyz is 200 when the session store answers, 503 when it does not and
// from the moment a shutdown starts, so balancers stop sending.
func (s *server) readyz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	if s.Draining() {
		c.Header("Retry-After", retryAfter)
		c.String(http.StatusServiceUnavailable, "shutting down\n")
		return
	}
	if err := s.Sessions.Ping(c.Request.Context()); err != nil {
		_ = c.Error(err)
		c.Header("Retry-After", retryAfter)
		c.String(http.StatusServiceUnavailable, "session store unavailable\n")
		return
	}
	c.String(http.StatusOK, "ready\n")
}

// stylesheet serves the CSS. Pages link it with a content hash in the
// query, so it can be cached for long.
func (s *server) stylesheet(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=86400")
	c.Data(http.StatusOK, "text/css; charset=utf-8", s.Pages.CSS())
}
