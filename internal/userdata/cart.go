package userdata

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

const cartPrefix = "cart:"

// Line is one item of the cart and how many of it.
type Line struct {
	Item string
	Qty  int64
}

// Cart is the cart's lines, sorted as a person reads a list: by letter,
// ignoring case and accents first ("apple", "Earl Grey", "éclair", "Fig").
type Cart []Line

// Count is the number of things in the cart (the sum of the quantities).
func (c Cart) Count() int64 {
	var n int64
	for _, l := range c {
		n += l.Qty
	}
	return n
}

// Qty is how many of item the cart holds.
func (c Cart) Qty(item string) int64 {
	for _, l := range c {
		if l.Item == item {
			return l.Qty
		}
	}
	return 0
}

// MarshalJSON writes the cart as an object of item to quantity, in the
// cart's order: {"apple":2,"Earl Grey":1}.
func (c Cart) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, l := range c {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(l.Item)
		if err != nil {
			return nil, err
		}
		b = append(append(b, k...), ':')
		b = strconv.AppendInt(b, l.Qty, 10)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes, in the order a person
// reads it.
func (c *Cart) UnmarshalJSON(b []byte) error {
	var m map[string]int64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	out := make(Cart, 0, len(m))
	for item, qty := range m {
		out = append(out, Line{Item: item, Qty: qty})
	}
	sortLines(out)
	*c = out
	return nil
}

// sortLines orders lines by the root collation of Unicode (case and
// accents matter only between otherwise equal items), then by bytes so
// the order is total.
func sortLines(lines []Line) {
	if len(lines) < 2 {
		return
	}
	col := collators.Get().(*collate.Collator)
	defer collators.Put(col)
	slices.SortFunc(lines, func(a, b Line) int {
		if c := col.CompareString(a.Item, b.Item); c != 0 {
			return c
		}
		return strings.Compare(a.Item, b.Item)
	})
}

// collators are reused: making one costs about 2 us and 5 KB, and one is
// not safe for concurrent use.
var collators = sync.Pool{New: func() any { return collate.New(language.Und) }}

// Cart is the cart as loaded (with this request's changes).
func (d Data) Cart() Cart {
	var out Cart
	for _, k := range d.st.Keys() {
		item, ok := strings.CutPrefix(k, cartPrefix)
		if !ok {
			continue
		}
		if n := d.st.Int(k); n > 0 {
			out = append(out, Line{Item: item, Qty: n})
		}
	}
	sortLines(out)
	return out
}

// lineCount is how many lines Cart has, without building them.
func (d Data) lineCount() int {
	n := 0
	for _, k := range d.st.Keys() {
		if strings.HasPrefix(k, cartPrefix) && d.st.Int(k) > 0 {
			n++
		}
	}
	return n
}

// AddToCart adds qty of item. The quantity is an atomic increment in the
// store, which refuses to pass MaxQty even for concurrent adds; MaxItems
// is checked against the cart as loaded, so concurrent adds of new items
// can pass it by the number in flight. item and qty are as ParseItem and
// ParseQty return them.
func (d Data) AddToCart(item string, qty int64) error {
	key := cartPrefix + item
	have := d.st.Int(key)
	if have == 0 && d.lineCount() >= MaxItems {
		return overLimitf("Your cart is full: it holds at most %d different items.", MaxItems)
	}
	if have+qty > MaxQty {
		return overLimitf("You can have at most %d of one item (you have %d).", MaxQty, have)
	}
	d.st.Incr(key, qty, MaxQty)
	return nil
}

// RemoveFromCart takes qty of item out of the cart, all of it when qty is
// 0, and returns how many it took by the cart as loaded (0: the item was
// not there, and nothing changes). Taking some is an atomic decrement in
// the store, which drops the item when none is left, so it composes with
// concurrent adds and removes; taking all is a compare-and-delete against
// the quantity loaded, which a concurrent change of the item turns into a
// conflict (retried from a fresh read).
func (d Data) RemoveFromCart(item string, qty int64) int64 {
	key := cartPrefix + item
	have := d.st.Int(key)
	switch {
	case have <= 0:
		return 0
	case qty == 0:
		d.st.Delete(key)
		return have
	default:
		d.st.Incr(key, -qty, 0)
		return min(qty, have)
	}
}
