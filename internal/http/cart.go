package http

import (
	"fmt"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
)

// cartAdd adds qty (default 1) of item. The quantity is an atomic increment
// in the store, so concurrent adds on any replicas all count; the store
// refuses to pass MaxQty. The MaxCart check is against the loaded session:
// concurrent adds of new items can pass it by the number in flight.
func (s *server) cartAdd(c *gin.Context) {
	form, ok := s.readForm(c)
	if !ok {
		return
	}
	item, err := cartItem(form)
	var qty int64
	if err == nil {
		var raw string
		if raw, err = field(form, "qty"); err == nil {
			qty, err = parseQty(raw)
		}
	}
	if err == nil {
		err = s.change(c, func(ss *session.Session) error {
			key := cartPrefix + item
			have := ss.Int(key)
			if have == 0 && len(cartOf(ss)) >= MaxCart {
				return overLimit(fmt.Sprintf("Your cart is full: it holds at most %d different items.", MaxCart))
			}
			if have+qty > MaxQty {
				return overLimit(fmt.Sprintf("You can have at most %d of one item (you have %d).", MaxQty, have))
			}
			ss.Incr(key, qty, MaxQty)
			return nil
		})
	}
	s.done(c, err)
}

// cartRemove removes item from the cart; removing an absent item is fine.
func (s *server) cartRemove(c *gin.Context) {
	form, ok := s.readForm(c)
	if !ok {
		return
	}
	item, err := cartItem(form)
	if err == nil {
		err = s.change(c, func(ss *session.Session) error {
			ss.Delete(cartPrefix + item)
			return nil
		})
	}
	s.done(c, err)
}

func cartItem(form url.Values) (string, error) {
	raw, err := field(form, "item")
	if err != nil {
		return "", err
	}
	return parseItem(raw)
}
