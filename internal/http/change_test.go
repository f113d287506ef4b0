package http

import (
	"strings"
	"testing"
)

// TestChangeRoutesDerived: the routes whose conflict retries are counted
// are those registered with changing, each exported at zero from the
// start; no other route can change the session (see changer).
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

	// A handler that changes the session takes a changer, which only
	// changing hands out: registering it any other way does not compile.
}
