package http

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/userdata"
)

// TestBadInput: every bad field gets a 4xx with a message, and the store
// sees no write.
func TestBadInput(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{})
	b := newBrowser(t)
	b.login(r, "sam")
	for i := range userdata.MaxItems - 1 {
		expect(t, b.post(r.url+"/cart/add", "item", "item"+string(rune('a'+i))), http.StatusSeeOther)
	}
	expect(t, b.post(r.url+"/cart/add", "item", "full", "qty", "99"), http.StatusSeeOther) // the 20th
	myID := apiSessionsOf(t, b, r)[0].ID
	beforeMe := getMe(t, b, r)
	anon := newBrowser(t)

	type raw struct{ ctype, body string }
	formBody := "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name   string
		who    *browser
		path   string
		form   []string
		raw    *raw
		status int
	}{
		{"empty name", anon, "/login", []string{"name", "  "}, nil, 400},
		{"missing name", anon, "/login", nil, nil, 400},
		{"long name", anon, "/login", []string{"name", strings.Repeat("n", 65)}, nil, 400},
		{"control in name", anon, "/login", []string{"name", "a\x01b"}, nil, 400},
		{"name not UTF-8", anon, "/login", nil, &raw{formBody, "name=%FF%FE"}, 400},
		{"name twice", anon, "/login", []string{"name", "a", "name", "b"}, nil, 400},
		{"relogin bad name", b, "/login", []string{"name", ""}, nil, 400},
		{"theme", b, "/theme", []string{"theme", "blue"}, nil, 400},
		{"theme missing", b, "/theme", nil, nil, 400},
		{"item empty", b, "/cart/add", []string{"item", ""}, nil, 400},
		{"item long", b, "/cart/add", []string{"item", strings.Repeat("i", 41)}, nil, 400},
		{"item control", b, "/cart/add", []string{"item", "a\nb"}, nil, 400},
		{"qty zero", b, "/cart/add", []string{"item", "full", "qty", "0"}, nil, 400},
		{"qty negative", b, "/cart/add", []string{"item", "full", "qty", "-3"}, nil, 400},
		{"qty text", b, "/cart/add", []string{"item", "full", "qty", "two"}, nil, 400},
		{"qty too big", b, "/cart/add", []string{"item", "full", "qty", "100"}, nil, 400},
		{"over 99 of an item", b, "/cart/add", []string{"item", "full", "qty", "1"}, nil, 422},
		{"21st item", b, "/cart/add", []string{"item", "one too many"}, nil, 422},
		{"remove empty item", b, "/cart/remove", []string{"item", ""}, nil, 400},
		{"revoke bad id", b, "/sessions/revoke", []string{"id", "'; DROP"}, nil, 400},
		{"revoke missing id", b, "/sessions/revoke", nil, nil, 400},
		{"revoke unknown id", b, "/sessions/revoke", []string{"id", flipHex(myID)}, nil, 404},
		{"malformed form", b, "/theme", nil, &raw{formBody, "theme=%zz"}, 400},
		{"malformed multipart", b, "/theme", nil, &raw{"multipart/form-data; boundary=xyz", "--xyz\r\nbroken"}, 400},
		{"oversized body", b, "/cart/add", []string{"item", "x", "pad", strings.Repeat("p", MaxBody)}, nil, 413},
		{"oversized login", anon, "/login", []string{"name", "x", "pad", strings.Repeat("p", MaxBody)}, nil, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keysBefore := len(w.sessionKeys())
			before := w.stats()
			var res *response
			if tc.raw != nil {
				res = tc.who.do(http.MethodPost, r.url+tc.path, nil, func(q *http.Request) {
					q.Header.Set("Content-Type", tc.raw.ctype)
					q.Body = io.NopCloser(strings.NewReader(tc.raw.body))
					q.ContentLength = int64(len(tc.raw.body))
				})
			} else {
				res = tc.who.do(http.MethodPost, r.url+tc.path, form(tc.form...))
			}
			expect(t, res, tc.status)
			if !strings.Contains(res.text, `class="alert"`) {
				t.Errorf("no message on the page: %.400s", res.text)
			}
			if got := writes(redistestDiff(before, w.stats())); len(got) != 0 {
				t.Errorf("store writes: %v", got)
			}
			if n := len(w.sessionKeys()); n != keysBefore {
				t.Errorf("stored sessions %d -> %d", keysBefore, n)
			}
		})
	}
	if after := getMe(t, b, r); after.Theme != beforeMe.Theme || len(after.Cart) != len(beforeMe.Cart) || after.Cart["full"] != 99 {
		t.Fatalf("session changed: %+v -> %+v", beforeMe, after)
	}
	if anon.cookieValue() != "" {
		t.Fatal("a refused login set a cookie")
	}
}

// TestOversizedStreamedBody: a body with no declared length is cut at the
// limit while it is read.
func TestOversizedStreamedBody(t *testing.T) {
	t.Parallel()
	r := filesReplica(t, options{})
	b := newBrowser(t)
	res := b.do(http.MethodPost, r.url+"/login", nil, func(q *http.Request) {
		q.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		q.Body = io.NopCloser(io.MultiReader(strings.NewReader("name=x&pad="), strings.NewReader(strings.Repeat("p", 2*MaxBody))))
		q.ContentLength = -1 // chunked
	})
	expect(t, res, http.StatusRequestEntityTooLarge)
	if b.cookieValue() != "" {
		t.Fatal("cookie set")
	}
}

func flipHex(id string) string {
	if id[0] == '0' {
		return "1" + id[1:]
	}
	return "0" + id[1:]
}
