package http

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/gin-gonic/gin"
)

// seeOther replaces gin's (net/http's) Redirect on the hot paths; what the
// browser gets must not change: status, headers and body, for every
// method, with and without a Content-Type set before.
func TestSeeOtherAnswersAsNetHTTPRedirectDoes(t *testing.T) {
	s := &server{fixed: newFixedHeaders("r1"), to: newRedirects()}
	gin.SetMode(gin.ReleaseMode)
	for _, to := range []struct {
		path string
		r    redirect
	}{{"/", s.to.home}, {"/login", s.to.login}, {"/sessions", s.to.sessions}} {
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
			for _, typed := range []bool{false, true} {
				answer := func(fast bool) *httptest.ResponseRecorder {
					r := gin.New()
					r.Handle(method, "/from", func(c *gin.Context) {
						if typed {
							c.Header("Content-Type", "application/json")
						}
						if fast {
							s.seeOther(c, to.r)
						} else {
							c.Redirect(http.StatusSeeOther, to.path)
						}
					})
					w := httptest.NewRecorder()
					r.ServeHTTP(w, httptest.NewRequest(method, "/from", nil))
					return w
				}
				want, got := answer(false), answer(true)
				if got.Code != want.Code || !reflect.DeepEqual(got.Header(), want.Header()) || got.Body.String() != want.Body.String() {
					t.Errorf("%s to %s (Content-Type set before: %v):\ngot  %d %v %q\nwant %d %v %q", method, to.path, typed,
						got.Code, got.Header(), got.Body.String(), want.Code, want.Header(), want.Body.String())
				}
			}
		}
	}
}

// The fixed header values are shared by every response: a handler that
// adds to one must not change what the next response gets.
func TestFixedHeadersAreNotChangedByAnAdd(t *testing.T) {
	f := newFixedHeaders("r1")
	h := http.Header{}
	h["Vary"] = f.varyCookie
	h.Add("Vary", "Accept-Encoding")
	if got := f.varyCookie; len(got) != 1 || got[0] != "Cookie" {
		t.Fatalf("the shared Vary value became %q", got)
	}
	if got := h.Values("Vary"); !reflect.DeepEqual(got, []string{"Cookie", "Accept-Encoding"}) {
		t.Fatalf("the response's Vary is %q", got)
	}
}
