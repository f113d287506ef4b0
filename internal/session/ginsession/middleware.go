// Package ginsession adapts the session engine to Gin and to
// github.com/gin-contrib/sessions: a middleware that loads the request's
// session and commits it before the response is written, the request's
// session for handlers (From, or sessions.Default), and a sessions.Store
// for code written against gin-contrib's sessions.Sessions.
package ginsession

import (
	"net/http"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
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
func Middleware(m *session.Manager, onError ErrorFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		s, err := m.Load(c.Request)
		if err != nil {
			onError(c, err)
			c.Abort()
			return
		}
		inner := c.Writer
		cw := &commitWriter{ResponseWriter: inner, c: c, s: s, onError: onError}
		s.SetWriter(inner)
		c.Writer = cw
		c.Set(sessions.DefaultKey, &contribSession{s})
		defer func() {
			// A handler that panics commits nothing: its changes are
			// dropped before the recovery middleware answers 500 through
			// the real writer.
			if v := recover(); v != nil {
				if !cw.done {
					cw.done = true
					s.Discard()
				}
				c.Writer = inner
				panic(v)
			}
		}()
		c.Next()
		if !cw.done {
			cw.commit()
		}
		c.Writer = inner
	}
}

// From returns the request's session as set by Middleware.
func From(c *gin.Context) *session.Session {
	return c.MustGet(sessions.DefaultKey).(*contribSession).Session
}

// Of returns the request's session, or nil on routes without Middleware.
func Of(c *gin.Context) *session.Session {
	v, ok := c.Get(sessions.DefaultKey)
	if !ok {
		return nil
	}
	cs, _ := v.(*contribSession)
	if cs == nil {
		return nil
	}
	return cs.Session
}

// contribSession is the engine's Session as gin-contrib's sessions.Session:
// only Options differs, taking gin-contrib's options type.
type contribSession struct {
	*session.Session
}

var _ sessions.Session = (*contribSession)(nil)

// Options overrides the cookie attributes for this session; MaxAge < 0
// destroys the session, as in gorilla/sessions.
func (s *contribSession) Options(o sessions.Options) {
	s.SetCookieOptions(cookieOptions(o))
}

func cookieOptions(o sessions.Options) session.CookieOptions {
	return session.CookieOptions{Path: o.Path, Domain: o.Domain, MaxAge: o.MaxAge, Secure: o.Secure, HttpOnly: o.HttpOnly, SameSite: o.SameSite}
}

// commitWriter commits the session when the handler starts its response.
type commitWriter struct {
	gin.ResponseWriter
	c       *gin.Context
	s       *session.Session
	onError ErrorFunc
	done    bool
	failed  bool // the handler's response was replaced; swallow the rest
}

func (w *commitWriter) commit() {
	w.done = true
	err := w.s.Finish()
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
