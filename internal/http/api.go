package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session/ginsession"
)

type apiMe struct {
	Name    string           `json:"name"`
	Theme   string           `json:"theme"`
	Cart    map[string]int64 `json:"cart"`
	Session apiTimes         `json:"session"`
}

type apiTimes struct {
	CreatedAt string `json:"created_at"`
	ExpiresAt string `json:"expires_at"`
}

type apiSession struct {
	ID        string `json:"id"`
	Device    string `json:"device"`
	CreatedAt string `json:"created_at"`
	LastSeen  string `json:"last_seen"`
	ExpiresAt string `json:"expires_at"`
	Current   bool   `json:"current"`
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *server) apiMe(c *gin.Context) {
	ss := ginsession.From(c)
	cart := map[string]int64{}
	for _, k := range ss.Keys() {
		if item, ok := strings.CutPrefix(k, cartPrefix); ok && ss.Int(k) > 0 {
			cart[item] = ss.Int(k)
		}
	}
	c.JSON(http.StatusOK, apiMe{
		Name: ss.User(), Theme: themeOf(ss), Cart: cart,
		Session: apiTimes{CreatedAt: rfc3339(ss.Created()), ExpiresAt: rfc3339(ss.ExpiresAt())},
	})
}

func (s *server) apiSessions(c *gin.Context) {
	ss := ginsession.From(c)
	list, err := s.Sessions.List(c.Request.Context(), ss.User(), ss)
	if err != nil {
		s.sessionError(c, err)
		return
	}
	out := make([]apiSession, len(list))
	for i, in := range list {
		out[i] = apiSession{
			ID: in.ID, Device: in.Device, CreatedAt: rfc3339(in.CreatedAt), LastSeen: rfc3339(in.LastSeen),
			ExpiresAt: rfc3339(in.ExpiresAt), Current: in.Current,
		}
	}
	c.JSON(http.StatusOK, out)
}
