package http

import (
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var cartItemRe = regexp.MustCompile(`<span class="item">(.*?)</span>`)

// cartOn is the cart's items in the order the page lists them.
func cartOn(page string) []string {
	var out []string
	for _, m := range cartItemRe.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// TestCartSortedAsPeopleRead: by letter, ignoring case and accents, on
// the page and in /api/me alike.
func TestCartSortedAsPeopleRead(t *testing.T) {
	t.Parallel()
	r := newWorld(t).replica("r1", options{})
	b := newBrowser(t)
	b.login(r, "rosa")
	for _, item := range []string{"Fig", "Earl Grey", "éclair", "apple", "banana", "Apple pie", "zucchini"} {
		expect(t, b.post(r.url+"/cart/add", "item", item), http.StatusSeeOther)
	}
	want := []string{"apple", "Apple pie", "banana", "Earl Grey", "éclair", "Fig", "zucchini"}
	page := b.get(r.url + "/").text
	if got := cartOn(page); !slices.Equal(got, want) {
		t.Errorf("page lists %q, want %q", got, want)
	}
	if !strings.Contains(page, `<span class="count">7 items</span>`) {
		t.Errorf("header count missing: %s", page)
	}
	res := b.get(r.url + "/api/me")
	expect(t, res, http.StatusOK)
	var order []int
	for _, item := range want {
		order = append(order, strings.Index(res.text, `"`+item+`":1`))
	}
	if !slices.IsSorted(order) || slices.Contains(order, -1) {
		t.Errorf("api/me cart not in the page's order: %s", res.text)
	}
}

// TestCartRemoveQuantity: /cart/remove takes qty of an item (an atomic
// decrement: none left removes it) or, without qty, all of it; a bad qty
// is 400 and changes nothing.
func TestCartRemoveQuantity(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{})
	b := newBrowser(t)
	b.login(r, "sven")
	expect(t, b.post(r.url+"/cart/add", "item", "apple", "qty", "3"), http.StatusSeeOther)
	expect(t, b.post(r.url+"/cart/add", "item", "pear", "qty", "2"), http.StatusSeeOther)
	b.get(r.url + "/") // shows the adds' notices

	expect(t, b.post(r.url+"/cart/remove", "item", "apple", "qty", "1"), http.StatusSeeOther)
	if got := getMe(t, b, r).Cart["apple"]; got != 2 {
		t.Fatalf("apples after removing 1 of 3: %d, want 2", got)
	}
	if got := noticesOn(b.get(r.url + "/").text); !slices.Equal(got, []string{"Removed 1 × apple."}) {
		t.Fatalf("notices %q", got)
	}
	expect(t, b.post(r.url+"/cart/remove", "item", "apple", "qty", "5"), http.StatusSeeOther)
	if m := getMe(t, b, r); m.Cart["apple"] != 0 || len(m.Cart) != 1 {
		t.Fatalf("after removing 5 of 2 apples: %v, want only the pears", m.Cart)
	}
	if got := noticesOn(b.get(r.url + "/").text); !slices.Equal(got, []string{"Removed 2 × apple."}) {
		t.Fatalf("notices %q", got)
	}

	before := getMe(t, b, r)
	statsBefore := w.stats()
	for _, qty := range []string{"0", "-1", "two", "100", "1.5"} {
		res := b.post(r.url+"/cart/remove", "item", "pear", "qty", qty)
		expect(t, res, http.StatusBadRequest)
		if !strings.Contains(res.text, "The quantity must be a whole number from 1 to 99.") {
			t.Errorf("qty %q: %s", qty, res.text)
		}
	}
	if got := writes(redistestDiff(statsBefore, w.stats())); len(got) != 0 {
		t.Fatalf("refused removes wrote %v", got)
	}
	if after := getMe(t, b, r); after.Cart["pear"] != before.Cart["pear"] {
		t.Fatalf("a refused remove changed the cart: %v -> %v", before.Cart, after.Cart)
	}

	expect(t, b.post(r.url+"/cart/remove", "item", "pear"), http.StatusSeeOther)
	if m := getMe(t, b, r); len(m.Cart) != 0 {
		t.Fatalf("remove without qty left %v", m.Cart)
	}
	if got := noticesOn(b.get(r.url + "/").text); !slices.Equal(got, []string{"Removed pear from your cart."}) {
		t.Fatalf("notices %q", got)
	}
	// Nothing to remove: nothing written, nothing said.
	statsBefore = w.stats()
	expect(t, b.post(r.url+"/cart/remove", "item", "pear", "qty", "1"), http.StatusSeeOther)
	if got := writes(redistestDiff(statsBefore, w.stats())); len(got) != 0 {
		t.Fatalf("removing an absent item wrote %v", got)
	}
	if got := noticesOn(b.get(r.url + "/").text); len(got) != 0 {
		t.Fatalf("notices %q after removing nothing", got)
	}
}

// TestItemMessages: refusals say what to do, in good English.
func TestItemMessages(t *testing.T) {
	t.Parallel()
	r := filesReplica(t, options{})
	b := newBrowser(t)
	b.login(r, "tove")
	for _, tc := range []struct{ path, item, want string }{
		{"/cart/add", "  ", "Please enter an item."},
		{"/cart/remove", "", "Please enter an item."},
		{"/cart/add", strings.Repeat("x", 41), "An item can have at most 40 characters."},
		{"/cart/add", "a\tb", "An item cannot contain control characters such as tabs or line breaks."},
	} {
		res := b.post(r.url+tc.path, "item", tc.item)
		expect(t, res, http.StatusBadRequest)
		if !strings.Contains(res.text, `<p class="alert" role="alert">`+tc.want+`</p>`) {
			t.Errorf("%s %q: page lacks %q: %.2000s", tc.path, tc.item, tc.want, res.text)
		}
	}
	res := newBrowser(t).post(r.url+"/login", "name", "")
	if !strings.Contains(res.text, "Please enter a name.") {
		t.Errorf("empty name: %s", res.text)
	}
}
