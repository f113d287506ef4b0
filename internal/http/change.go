package http

import (
	"errors"
	"path"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/userdata"
)

// changer is how a handler changes the request's session (see change). A
// handler gets one only by being registered with changing (routes.go): a
// route that changes the session cannot be registered any other way, so
// the routes whose retries are counted are known from the start, and no
// route finds out at run time that it may not change the session.
type changer struct {
	s     *server
	route string // the route pattern: the retries' label
}

// changeHandler is the handler of a route that changes the session.
type changeHandler func(c *gin.Context, ch changer)

// changing registers a route whose handler h changes the session, after
// the handlers before (middleware of that route only). Its conflict
// retries are counted per route, from zero at start.
func (s *server) changing(g *gin.RouterGroup, method, relative string, h changeHandler, before ...gin.HandlerFunc) {
	route := path.Join(g.BasePath(), relative)
	s.Metrics.changeRoute(route)
	ch := changer{s: s, route: route}
	g.Handle(method, relative, append(before, func(c *gin.Context) { h(c, ch) })...)
}

// change applies fn to the request's session and saves it at once. A save
// that lost a compare-and-set to a concurrent request of the same session
// reloads it and applies fn again (maxTries in all), so a concurrent change
// is neither lost nor overwritten. fn must check before it changes: when it
// returns an error, nothing is saved. A store failure of the save comes
// back marked as an attempted write (see fail).
func (ch changer) change(c *gin.Context, fn func(*session.Session) error) error {
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
			ch.s.Metrics.conflictRetry(ch.route)
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
func (ch changer) takeNotices(c *gin.Context) ([]string, bool) {
	if !userdata.Of(sess(c)).HasNotices() {
		return nil, true
	}
	var notices []string
	err := ch.change(c, func(ss *session.Session) error {
		notices = userdata.Of(ss).Notices()
		return nil
	})
	switch {
	case errors.Is(err, session.ErrGone):
		ch.s.loggedOut(c)
		return nil, false
	case err != nil:
		_ = c.Error(err)
	}
	return notices, true
}

// notifyThenGo leaves msg for the next page and sends the browser to it.
// What msg reports is done already: if the notice cannot be stored, the
// browser goes on without it.
func (ch changer) notifyThenGo(c *gin.Context, to redirect, msg string) {
	err := ch.change(c, func(ss *session.Session) error {
		userdata.Of(ss).Notify(msg)
		return nil
	})
	if err != nil {
		_ = c.Error(err)
	}
	ch.s.seeOther(c, to)
}
