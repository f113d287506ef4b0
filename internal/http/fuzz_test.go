package http

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/filestore"
	"github.com/sessiond/sessiond/templates"
)

// The fuzzers' seed corpora run with every `go test` (make test);
// `make fuzz` runs each for FUZZTIME. Crashers found are committed under
// testdata/fuzz/<FuzzName>/ and so become regression tests. The field
// rules are fuzzed in package input, whose small test binary runs them
// fast; this one fuzzes the whole form path through a real server.

// fuzzRoutes are the form-reading routes FuzzFormPost sends to.
var fuzzRoutes = []string{"/login", "/theme", "/cart/add", "/cart/remove", "/sessions/revoke", "/sessions/revoke-others"}

// FuzzFormPost sends arbitrary bodies with arbitrary content types and
// request ids to every form route of a real server (filesystem store),
// signed in: no input is answered with a 5xx or a panic, every answer is
// one a client can act on, and a refused login stores nothing.
func FuzzFormPost(f *testing.F) {
	urlenc := "application/x-www-form-urlencoded"
	for _, s := range []struct {
		route       uint8
		ctype, body string
	}{
		{0, urlenc, "name=alice"}, {0, urlenc, "name=%FF"}, {0, urlenc, "name=a&name=b"}, {0, urlenc, "name=%zz"},
		{1, urlenc, "theme=dark"}, {1, urlenc, "theme="}, {2, urlenc, "item=apple&qty=2"}, {2, urlenc, "item=a%0Ab&qty=-1"},
		{2, urlenc, "item=" + strings.Repeat("i", 200)}, {3, urlenc, "item=apple"}, {4, urlenc, "id=0123456789abcdef"},
		{4, urlenc, "id=%00"}, {1, "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"theme\"\r\n\r\ndark\r\n--xyz--\r\n"},
		{2, "multipart/form-data; boundary=xyz", "--xyz\r\nbroken"}, {2, "multipart/form-data", "--\r\n"}, {1, "text/plain", "theme=dark"},
		{0, "", "name=x"}, {2, urlenc + "; charset=latin1", "item=caf%E9"}, {3, "application/json", `{"item":"x"}`},
	} {
		f.Add(s.route, s.ctype, s.body)
	}
	files, err := filestore.New(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { files.Close() })
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	m, err := session.NewManager(session.Config{Backend: files, Keys: [][]byte{testKey}, Logger: logger})
	if err != nil {
		f.Fatal(err)
	}
	pages, err := templates.Parse()
	if err != nil {
		f.Fatal(err)
	}
	h := NewServer(Config{Sessions: m, Pages: pages, Logger: logger, Replica: "fuzz"})
	serve := func(route, ctype, body, cookie string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, route, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	cookieOf := func(rec *httptest.ResponseRecorder) string {
		for _, c := range rec.Result().Cookies() {
			if c.Name == CookieName && c.MaxAge >= 0 {
				return c.Value
			}
		}
		return ""
	}
	signIn := func(t testing.TB) string {
		rec := serve("/login", urlenc, "name=fuzz", "")
		c := cookieOf(rec)
		if rec.Code != http.StatusSeeOther || c == "" {
			t.Fatalf("sign in: %d", rec.Code)
		}
		return c
	}
	cookie := signIn(f)
	allowed := map[int]bool{
		http.StatusSeeOther: true, http.StatusBadRequest: true, http.StatusNotFound: true,
		http.StatusRequestEntityTooLarge: true, http.StatusUnprocessableEntity: true, http.StatusConflict: true,
	}
	f.Fuzz(func(t *testing.T, route uint8, ctype, body string) {
		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		who := cookie
		if path == "/login" {
			who = "" // a login would replace the fuzzer's session
		}
		rec := serve(path, ctype, body, who)
		if !allowed[rec.Code] {
			t.Fatalf("POST %s %q %q: status %d: %.300s", path, ctype, body, rec.Code, rec.Body.String())
		}
		if path == "/login" && rec.Code != http.StatusSeeOther && rec.Header().Get("Set-Cookie") != "" {
			t.Fatalf("a refused login (%d) set a cookie", rec.Code)
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `class="alert"`) {
			t.Fatalf("POST %s: %d without a message: %.300s", path, rec.Code, rec.Body.String())
		}
		// A revoke of this very session logs out: sign in again.
		for _, c := range rec.Result().Cookies() {
			if c.Name == CookieName && c.MaxAge < 0 && who != "" {
				cookie = signIn(t)
			}
		}
	})
}
