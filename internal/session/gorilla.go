package session

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gin-contrib/sessions"
	gsessions "github.com/gorilla/sessions"
)

// Store adapts a Manager to github.com/gin-contrib/sessions.Store (and so to
// gorilla/sessions.Store), for code that uses sessions.Sessions(name, store).
// It keeps the engine's semantics: delta writes, compare-and-set, no store
// write for unchanged or anonymous sessions. The service itself uses
// Manager.Middleware, which also commits before the response is written.
type Store struct {
	m    *Manager
	opts sessions.Options
}

// NewStore returns the gin-contrib adapter for m.
func NewStore(m *Manager) *Store {
	return &Store{m: m, opts: sessions.Options{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}}
}

var _ sessions.Store = (*Store)(nil)

type gorillaKey string

// Options sets the default cookie attributes of sessions from this store.
func (st *Store) Options(o sessions.Options) { st.opts = o }

// Get returns the request's session, loading it once per request.
func (st *Store) Get(r *http.Request, name string) (*gsessions.Session, error) {
	return gsessions.GetRegistry(r).Get(st, name)
}

// New loads the session named name from the request's cookie.
func (st *Store) New(r *http.Request, name string) (*gsessions.Session, error) {
	s, err := st.m.Load(r, name)
	gs := gsessions.NewSession(st, name)
	opts := st.opts
	gs.Options = opts.ToGorillaOptions()
	if err != nil {
		return gs, err
	}
	s.options = &opts
	*r = *r.WithContext(context.WithValue(r.Context(), gorillaKey(name), s))
	for k, v := range s.values {
		gs.Values[k] = v
	}
	gs.IsNew = !s.stored
	gs.ID = s.ID()
	return gs, nil
}

// Save writes the changes made to gs.Values since it was loaded.
func (st *Store) Save(r *http.Request, w http.ResponseWriter, gs *gsessions.Session) error {
	s, _ := r.Context().Value(gorillaKey(gs.Name())).(*Session)
	if s == nil {
		var err error
		if s, err = st.m.Load(r, gs.Name()); err != nil {
			return err
		}
	}
	s.w = w
	for k := range s.values {
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
	s.Options(sessions.Options{Path: o.Path, Domain: o.Domain, MaxAge: o.MaxAge, Secure: o.Secure, HttpOnly: o.HttpOnly, SameSite: o.SameSite})
	if err := s.Save(); err != nil {
		return err
	}
	gs.ID = s.ID()
	gs.IsNew = !s.stored
	return nil
}
