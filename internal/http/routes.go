package http

import (
	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session/ginsession"
)

// routes lists every URL the service answers.
func (s *server) routes(r *gin.Engine) {
	if s.Tracer != nil {
		r.Use(s.tracing()) // first: the log line can name the trace
	}
	r.Use(
		s.observe,      // X-Replica, X-Request-ID, log line, metrics
		s.recoverPanic, // a panic is a 500 page, not a dropped connection
		s.securityHeaders,
		s.crossOrigin, // 403 for cross-origin state changes
		s.limitBody,   // 413 for bodies over MaxBody
	)
	r.NoRoute(s.notFound)
	r.NoMethod(s.methodNotAllowed)

	r.GET("/healthz", s.healthz)
	r.HEAD("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.HEAD("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(s.Metrics.Handler()))
	r.GET("/static/style.css", s.stylesheet)

	// Everything below reads the session (one store read at most, none
	// without a valid cookie) and commits it before the response.
	sess := ginsession.Middleware(s.Sessions, s.sessionError)

	pages := r.Group("/", private, sess)
	pages.GET("/", s.index)
	pages.GET("/login", s.loginForm)
	// The login rate limit comes before the session is loaded.
	r.POST("/login", private, s.limitLogin, sess, s.login)
	pages.GET("/logout", s.logoutPage)
	pages.POST("/logout", s.logout)
	pages.POST("/theme", requireUser, s.setTheme)
	pages.POST("/cart/add", requireUser, s.cartAdd)
	pages.POST("/cart/remove", requireUser, s.cartRemove)
	pages.GET("/sessions", requireUser, s.sessionsPage)
	pages.POST("/sessions/revoke", requireUser, s.revoke)
	pages.POST("/sessions/revoke-all", requireUser, s.revokeAll)

	api := r.Group("/api", private, sess, requireUser)
	api.GET("/me", s.apiMe)
	api.GET("/sessions", s.apiSessions)
}
