package http

import (
	"net/http"

	"github.com/gin-gonic/gin"
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

	// Health and assets (health.go).
	r.GET("/healthz", s.healthz)
	r.HEAD("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.HEAD("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(s.Metrics.Handler()))
	r.GET("/static/style.css", s.stylesheet)

	// Everything below reads the session (one store read at most, none
	// without a valid cookie) and commits it before the response.
	sess := s.loadSession()
	pages := r.Group("/", s.private, sess)

	// Home: the user's data as a page and as JSON (home.go). Showing the
	// page clears the notices it shows.
	s.changing(pages, http.MethodGet, "/", s.index)

	// Sign-in (signin.go). The login rate limit comes before the session
	// is loaded.
	pages.GET("/login", s.loginForm)
	s.changing(&r.RouterGroup, http.MethodPost, "/login", s.login, s.private, s.limitLogin, sess)
	pages.GET("/logout", s.logoutPage)
	pages.POST("/logout", s.logout)

	// Preferences (preferences.go).
	s.changing(pages, http.MethodPost, "/theme", s.setTheme, s.requireUser)

	// Cart (cart.go).
	s.changing(pages, http.MethodPost, "/cart/add", s.cartAdd, s.requireUser)
	s.changing(pages, http.MethodPost, "/cart/remove", s.cartRemove, s.requireUser)

	// Sessions, as a page and as JSON (sessions.go).
	s.changing(pages, http.MethodGet, "/sessions", s.sessionsPage, s.requireUser)
	s.changing(pages, http.MethodPost, "/sessions/revoke", s.revoke, s.requireUser)
	s.changing(pages, http.MethodPost, "/sessions/revoke-others", s.revokeOthers, s.requireUser)
	pages.POST("/sessions/revoke-all", s.revokeAll) // signed-in, or a renamed session's old cookie

	api := r.Group("/api", s.private, sess, s.requireUser)
	api.GET("/me", s.apiMe)
	api.GET("/sessions", s.apiSessions)
}
