package http

import (
	"errors"
	"fmt"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/userdata"
)

// change applies fn to the request's session and saves it at once. A save
// that lost a compare-and-set to a concurrent request of the same session
// reloads it and applies fn again (maxTries in all), so a concurrent change
// is neither lost nor overwritten. fn must check before it changes: when it
// returns an error, nothing is saved. A store failure of the save comes
// back marked as an attempted write (see fail).
//
// Only routes registered with changing may call it, so that the routes
// whose retries are counted are known from the start.
func (s *server) change(c *gin.Context, fn func(*session.Session) error) error {
	route := c.FullPath()
	if !s.changeRoutes[route] {
		return fmt.Errorf("http: route %q changes the session but was not registered with changing", route)
	}
	ss := sess(c)
	for try := 1; ; try++ {
		err := fn(ss)
		if err != nil {
			ss.Discard()
			return err
		}
		err = ss.Save()
		if err == nil {
			return nil
		}
		if errors.Is(err, session.ErrConflict) && try < maxTries {
			s.Metrics.conflictRetry(route)
			if err := ss.Reload(); err != nil {
				return err
			}
			continue
		}
		return attempted(err) // a failed Save discarded the changes
	}
}

// takeNotices reads the notices waiting for the page and removes them
// (change: the page is what shows them once). A page view is not refused
// over its notices: if they cannot be removed they are shown and stay for
// the next page. It returns false when it answered itself: the session
// ended meanwhile.
func (s *server) takeNotices(c *gin.Context) ([]string, bool) {
	if !userdata.Of(sess(c)).HasNotices() {
		return nil, true
	}
	var notices []string
	err := s.change(c, func(ss *session.Session) error {
		notices = userdata.Of(ss).Notices()
		return nil
	})
	switch {
	case errors.Is(err, session.ErrGone):
		s.loggedOut(c)
		return nil, false
	case err != nil:
		_ = c.Error(err)
	}
	return notices, true
}

// notifyThenGo leaves msg for the next page and sends the browser to it.
// What msg reports is done already: if the notice cannot be stored, the
// browser goes on without it.
func (s *server) notifyThenGo(c *gin.Context, to redirect, msg string) {
	err := s.change(c, func(ss *session.Session) error {
		userdata.Of(ss).Notify(msg)
		return nil
	})
	if err != nil {
		_ = c.Error(err)
	}
	s.seeOther(c, to)
}
