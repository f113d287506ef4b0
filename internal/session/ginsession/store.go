package ginsession

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gin-contrib/sessions"
	gsessions "github.com/gorilla/sessions"

	"github.com/sessiond/sessiond/internal/session"
)

// Store adapts a Manager to github.com/gin-contrib/sessions.Store (and so to
// gorilla/sessions.Store), for code that uses sessions.Sessions(name, store).
// It keeps the engine's semantics: delta writes, compare-and-set, no store
// write for unchanged or anonymous sessions. Cookies follow the Manager's
// cookie policy unless Options overrides them. The service itself uses
// Middleware, which also commits before the response is written.
type Store struct {
	m    *session.Manager
	opts *sessions.Options // nil: the Manager's cookie policy
}

// NewStore returns the gin-contrib adapter for m.
func NewStore(m *session.Manager) *Store {
	return &Store{m: m}
}

var _ sessions.Store = (*Store)(nil)

type gorillaKey string

// Options sets the default cookie attributes of sessions from this store.
func (st *Store) Options(o sessions.Options) { st.opts = &o }

// Get returns the request's session, loading it once per request.
func (st *Store) Get(r *http.Request, name string) (*gsessions.Session, error) {
	return gsessions.GetRegistry(r).Get(st, name)
}

// gorillaOptions are the cookie attributes a new gorilla session starts
// with: the store's, or else the policy's.
func (st *Store) gorillaOptions() *gsessions.Options {
	if st.opts != nil {
		return st.opts.ToGorillaOptions()
	}
	p := st.m.Config().Cookie
	return &gsessions.Options{Path: p.Path, Domain: p.Domain, HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

// New loads the session named name from the request's cookie.
func (st *Store) New(r *http.Request, name string) (*gsessions.Session, error) {
	s, err := st.m.LoadCookie(r, name)
	gs := gsessions.NewSession(st, name)
	gs.Options = st.gorillaOptions()
	if err != nil {
		return gs, err
	}
	if st.opts != nil {
		s.SetCookieOptions(cookieOptions(*st.opts))
	}
	*r = *r.WithContext(context.WithValue(r.Context(), gorillaKey(name), s))
	for _, k := range s.Keys() {
		gs.Values[k] = s.Get(k)
	}
	gs.IsNew = s.IsNew()
	gs.ID = s.ID()
	return gs, nil
}

// Save writes the changes made to gs.Values since it was loaded.
func (st *Store) Save(r *http.Request, w http.ResponseWriter, gs *gsessions.Session) error {
	s, _ := r.Context().Value(gorillaKey(gs.Name())).(*session.Session)
	if s == nil {
		var err error
		if s, err = st.m.LoadCookie(r, gs.Name()); err != nil {
			return err
		}
	}
	s.SetWriter(w)
	for _, k := range s.Keys() {
		if _, ok := gs.Values[k]; !ok {
			s.Delete(k)
		}
	}
	for k, v := range gs.Values {
		ks, ok := k.(string)
		if !ok {
			return fmt.Errorf("session: key of type %T: only string keys are stored", k)
		}
		s.Set(ks, v)
	}
	o := gs.Options
	s.SetCookieOptions(session.CookieOptions{Path: o.Path, Domain: o.Domain, MaxAge: o.MaxAge, Secure: o.Secure, HttpOnly: o.HttpOnly, SameSite: o.SameSite})
	if err := s.Save(); err != nil {
		return err
	}
	gs.ID = s.ID()
	gs.IsNew = s.IsNew()
	return nil
}
