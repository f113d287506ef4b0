package http

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/userdata"
)

// cartAdd adds qty (default 1) of item; see userdata.AddToCart for how
// concurrent adds all count.
func (s *server) cartAdd(c *gin.Context, ch changer) {
	form, ok := s.readForm(c)
	if !ok {
		return
	}
	item, qty, err := itemAndQty(form, userdata.ParseQty)
	if err == nil {
		err = ch.change(c, func(ss *session.Session) error {
			d := userdata.Of(ss)
			if err := d.AddToCart(item, qty); err != nil {
				return err
			}
			d.Notify(fmt.Sprintf("Added %d × %s.", qty, item))
			return nil
		})
	}
	s.backHome(c, err)
}

// cartRemove takes qty of item out of the cart, or all of it when no qty
// is sent. Removing an absent item is fine and changes nothing.
func (s *server) cartRemove(c *gin.Context, ch changer) {
	form, ok := s.readForm(c)
	if !ok {
		return
	}
	item, qty, err := itemAndQty(form, optionalQty)
	if err == nil {
		err = ch.change(c, func(ss *session.Session) error {
			d := userdata.Of(ss)
			switch removed := d.RemoveFromCart(item, qty); {
			case removed == 0: // it was not there: nothing to say
			case qty == 0:
				d.Notify(fmt.Sprintf("Removed %s from your cart.", item))
			default:
				d.Notify(fmt.Sprintf("Removed %d × %s.", removed, item))
			}
			return nil
		})
	}
	s.backHome(c, err)
}

// optionalQty is a quantity to remove, 0 (all) when none is sent.
func optionalQty(v string) (int64, error) {
	if strings.TrimSpace(v) == "" {
		return 0, nil
	}
	return userdata.ParseQty(v)
}

func itemAndQty(form url.Values, qtyRule func(string) (int64, error)) (string, int64, error) {
	item, err := parsed(form, "item", userdata.ParseItem)
	if err != nil {
		return "", 0, err
	}
	qty, err := parsed(form, "qty", qtyRule)
	return item, qty, err
}
