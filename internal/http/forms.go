package http

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/http/input"
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

// The rules of each field are in package input; these turn its refusals
// into 400s.

func parseName(v string) (string, error)      { return checked(input.Name(v)) }
func parseItem(v string) (string, error)      { return checked(input.Item(v)) }
func parseQty(v string) (int64, error)        { return checked(input.Qty(v)) }
func parseTheme(v string) (string, error)     { return checked(input.Theme(v)) }
func parseSessionID(v string) (string, error) { return checked(input.SessionID(v)) }

func checked[T any](v T, err error) (T, error) {
	var in *input.Error
	if errors.As(err, &in) {
		return v, badInput(in.Msg)
	}
	return v, err
}
