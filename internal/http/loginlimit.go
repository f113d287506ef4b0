package http

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// limitLogin counts the attempt against the client's address (Gin's
// ClientIP: X-Forwarded-For is believed only from trusted proxies). Over
// the limit the answer is 429 with Retry-After; when the limiter's store
// fails it is 503, like any store failure. It runs before the session is
// loaded and the form is read, so refused attempts cost one counter.
func (s *server) limitLogin(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.Sessions.Config().Timeout)
	defer cancel()
	d, err := s.LoginLimiter.Allow(ctx, c.ClientIP())
	switch {
	case err != nil:
		s.Metrics.loginAttempt("error")
		_ = c.Error(err)
		s.fail(c, http.StatusServiceUnavailable, msgUnavailable)
	case !d.Allowed:
		s.Metrics.loginAttempt("limited")
		secs := retrySeconds(d.RetryAfter)
		c.Header("Retry-After", strconv.Itoa(secs))
		s.fail(c, http.StatusTooManyRequests, tooManyLogins(secs))
	default:
		s.Metrics.loginAttempt("allowed")
	}
}

// retrySeconds is d in whole seconds, rounded up, at least 1.
func retrySeconds(d time.Duration) int {
	secs := math.Ceil(d.Seconds())
	if secs < 1 {
		return 1
	}
	if secs > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(secs)
}

func tooManyLogins(secs int) string {
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	return fmt.Sprintf("Too many sign-in attempts from your network address. Please wait %d %s and try again.", secs, unit)
}
