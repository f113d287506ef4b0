// Package userdata is the user's data kept in their session: the theme,
// the cart and one-shot notices, with their rules and limits and the way
// they are stored. Pages and the API both read and change it through Of;
// no other package knows its keys.
//
// Storage (one session field each, values in JSON):
//
//	theme            "light" or "dark"; absent means System (follow the device)
//	cart:<item>      the quantity of item, an integer the store adds to atomically
//	notice:<stamp>   one notice (a flash message list of one string), read once
//
// Cart quantities are counters (Store.Incr), so concurrent adds on any
// replica all count and the store itself refuses to pass MaxQty. The theme
// is a compare-and-set field: of two concurrent choices one is applied and
// the other retried. Each notice has a field of its own, named by when it
// was made, so concurrent changes never collide on the notices and they
// read back in the order they were made.
//
// The rules of what users send (names, items, quantities, themes) are
// here too, with the one error type (Error) whose message is safe to show.
package userdata
