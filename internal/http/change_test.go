package http

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
)

// TestChangeRoutesDerived: the routes whose conflict retries are counted
// are those registered with changing, each exported at zero from the
// start, and change refuses to run on any other route.
func TestChangeRoutesDerived(t *testing.T) {
	t.Parallel()
	r := filesReplica(t, options{})
	exposition := newBrowser(t).get(r.url + "/metrics").text
	for _, route := range []string{"/", "/login", "/theme", "/cart/add", "/cart/remove", "/sessions", "/sessions/revoke", "/sessions/revoke-others"} {
		if want := `sessiond_session_conflict_retries_total{route="` + route + `"} 0`; !strings.Contains(exposition, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, route := range []string{"/logout", "/sessions/revoke-all", "/api/me", "/healthz"} {
		if strings.Contains(exposition, `sessiond_session_conflict_retries_total{route="`+route+`"}`) {
			t.Errorf("%s does not change the session through change, yet has a retry series", route)
		}
	}

	s := &server{changeRoutes: map[string]bool{"/theme": true}}
	gin.SetMode(gin.ReleaseMode)
	eng := gin.New()
	var got error
	eng.POST("/unregistered", func(c *gin.Context) {
		got = s.change(c, func(*session.Session) error { t.Error("fn ran"); return nil })
	})
	eng.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/unregistered", nil))
	if got == nil || !strings.Contains(got.Error(), "not registered with changing") {
		t.Fatalf("change on an unregistered route: %v", got)
	}
}
