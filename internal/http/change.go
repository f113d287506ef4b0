package http

import (
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/ginsession"
)

// change applies fn to the request's session and saves it at once. A save
// that lost a compare-and-set to a concurrent request of the same session
// reloads it and applies fn again (maxTries in all), so a concurrent change
// is neither lost nor overwritten. fn must check before it changes: when it
// returns an error, nothing is saved.
func (s *server) change(c *gin.Context, fn func(*session.Session) error) error {
	ss := ginsession.From(c)
	for try := 1; ; try++ {
		err := fn(ss)
		if err == nil {
			err = ss.Save()
		}
		if err == nil {
			return nil
		}
		if errors.Is(err, session.ErrConflict) && try < maxTries {
			s.Metrics.conflictRetry(c.FullPath())
			if err := ss.Reload(); err != nil {
				return err
			}
			continue
		}
		ss.Discard() // a failed Save already did; fn's own error needs it
		return err
	}
}
