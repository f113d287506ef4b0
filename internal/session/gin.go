package session

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

// ErrorFunc answers a request whose session could not be loaded or saved.
// It is called with c.Writer being the real writer.
type ErrorFunc func(c *gin.Context, err error)

// Middleware loads the request's session (no store call without a valid
// cookie), makes it available through sessions.Default(c) and From(c), and
// commits it before the first byte of the response is written, so a
// handler that forgets Save loses nothing and no header comes too late.
//
// A load failure never becomes an empty session: onError answers instead
// (503). A commit failure replaces the handler's response with onError's.
func (m *Manager) Middleware(cookieName string, onError ErrorFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		s, err := m.Load(c.Request, cookieName)
		if err != nil {
			onError(c, err)
			c.Abort()
			return
		}
		inner := c.Writer
		cw := &commitWriter{ResponseWriter: inner, c: c, s: s, onError: onError}
		s.w = inner
		c.Writer = cw
		c.Set(sessions.DefaultKey, s)
		c.Next()
		if !cw.done {
			cw.commit()
		}
		c.Writer = inner
	}
}

// From returns the request's session as set by Middleware.
func From(c *gin.Context) *Session {
	return c.MustGet(sessions.DefaultKey).(*Session)
}

// commitWriter commits the session when the handler starts its response.
type commitWriter struct {
	gin.ResponseWriter
	c       *gin.Context
	s       *Session
	onError ErrorFunc
	done    bool
	failed  bool // the handler's response was replaced; swallow the rest
}

func (w *commitWriter) commit() {
	w.done = true
	if !w.s.Dirty() && !w.s.clearCookie && !w.s.resign {
		if w.s.stored && !w.s.wrote {
			// A request that used a session and wrote nothing: the write
			// every peer store would have made here is skipped.
			w.s.m.observe(OpSave, OutcomeSkipped, time.Now())
		}
		return
	}
	err := w.s.Save()
	if err == nil {
		return
	}
	w.failed = true
	w.ResponseWriter.Header().Del("Location")
	w.c.Writer = w.ResponseWriter
	w.onError(w.c, err)
	w.c.Writer = w
}

func (w *commitWriter) WriteHeader(code int) {
	if !w.done {
		w.commit()
	}
	if w.failed {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *commitWriter) WriteHeaderNow() {
	if !w.done {
		w.commit()
	}
	if w.failed {
		return
	}
	w.ResponseWriter.WriteHeaderNow()
}

func (w *commitWriter) Write(b []byte) (int, error) {
	if !w.done {
		w.commit()
	}
	if w.failed {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *commitWriter) WriteString(s string) (int, error) {
	if !w.done {
		w.commit()
	}
	if w.failed {
		return len(s), nil
	}
	return w.ResponseWriter.WriteString(s)
}

func (w *commitWriter) Flush() {
	if !w.done {
		w.commit()
	}
	if !w.failed {
		w.ResponseWriter.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *commitWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// IsUnavailable tells whether err means the store could not be reached.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }
