package http

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// readForm parses the request's form body (urlencoded or multipart). When
// it cannot, it answers 413 or 400 itself and returns false.
func (s *server) readForm(c *gin.Context) (url.Values, bool) {
	r := c.Request
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		err = r.ParseMultipartForm(MaxBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		_ = c.Error(err)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.fail(c, http.StatusRequestEntityTooLarge, msgTooLarge)
		} else {
			s.fail(c, http.StatusBadRequest, msgMalformed)
		}
		return nil, false
	}
	return r.PostForm, true
}

// field returns the one value of name in form ("" when absent).
func field(form url.Values, name string) (string, error) {
	switch vs := form[name]; len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	default:
		return "", badInput(fmt.Sprintf("The field %q was sent more than once.", name))
	}
}

// cleanText applies the rules of names and cart items: valid UTF-8, trimmed,
// 1 to maxRunes characters (and at most maxBytes bytes when > 0), no
// control characters.
func cleanText(what, v string, maxRunes, maxBytes int) (string, error) {
	if !utf8.ValidString(v) {
		return "", badInput(fmt.Sprintf("The %s is not valid UTF-8 text.", what))
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", badInput(fmt.Sprintf("Please enter a %s.", what))
	}
	if utf8.RuneCountInString(v) > maxRunes || maxBytes > 0 && len(v) > maxBytes {
		return "", badInput(fmt.Sprintf("A %s can have at most %d characters.", what, maxRunes))
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", badInput(fmt.Sprintf("A %s cannot contain control characters such as tabs or line breaks.", what))
	}
	return v, nil
}

// parseName checks a login name.
func parseName(v string) (string, error) { return cleanText("name", v, MaxNameLen, 0) }

// parseItem checks a cart item. Items are part of a stored field name,
// which the engine bounds in bytes, hence MaxItemSize.
func parseItem(v string) (string, error) { return cleanText("item", v, MaxItemLen, MaxItemSize) }

// parseQty checks a quantity: a whole number from 1 to MaxQty, 1 when empty.
func parseQty(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 1, nil
	}
	bad := badInput(fmt.Sprintf("The quantity must be a whole number from 1 to %d.", MaxQty))
	if len(v) > 3 || strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, bad
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > MaxQty {
		return 0, bad
	}
	return n, nil
}

// parseTheme checks a theme.
func parseTheme(v string) (string, error) {
	if v != "light" && v != "dark" {
		return "", badInput(`The theme must be "light" or "dark".`)
	}
	return v, nil
}

// parseSessionID checks a public session id: 16 lower-case hex digits.
func parseSessionID(v string) (string, error) {
	if len(v) != 16 || strings.IndexFunc(v, func(r rune) bool {
		return (r < '0' || r > '9') && (r < 'a' || r > 'f')
	}) >= 0 {
		return "", badInput("That is not a session id.")
	}
	return v, nil
}
