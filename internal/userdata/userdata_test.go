package userdata_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/filestore"
	"github.com/sessiond/sessiond/internal/userdata"
)

// mustOpenSession is a new, unsaved session of a real engine on a
// filesystem store: what a request without a cookie gets.
func mustOpenSession(tb testing.TB) *session.Session {
	tb.Helper()
	files, err := filestore.New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { files.Close() })
	m, err := session.NewManager(session.Config{Backend: files, Keys: [][]byte{[]byte("0123456789abcdef0123456789abcdef-userdata")}})
	if err != nil {
		tb.Fatal(err)
	}
	ss, err := m.Load(httptest.NewRequest("GET", "/", nil))
	if err != nil {
		tb.Fatal(err)
	}
	return ss
}

func TestThemeStoredAsChoice(t *testing.T) {
	t.Parallel()
	ss := mustOpenSession(t)
	d := userdata.Of(ss)
	if d.Theme() != userdata.System {
		t.Fatalf("no choice: %q, want system", d.Theme())
	}
	d.SetTheme(userdata.Dark)
	if d.Theme() != userdata.Dark || ss.String("theme") != "dark" {
		t.Fatalf("after Dark: %q, stored %q", d.Theme(), ss.String("theme"))
	}
	d.SetTheme(userdata.System)
	if d.Theme() != userdata.System || slices.Contains(ss.Keys(), "theme") {
		t.Fatalf("after System: %q, keys %v (want no stored choice)", d.Theme(), ss.Keys())
	}
	ss.Set("theme", "sepia") // a value this version does not know
	if d.Theme() != userdata.System {
		t.Fatalf("unknown stored theme reads as %q, want system", d.Theme())
	}
}

func TestCartRulesAndOrder(t *testing.T) {
	t.Parallel()
	d := userdata.Of(mustOpenSession(t))
	for _, item := range []string{"Earl Grey", "apple", "Éclair", "eclair", "Banana"} {
		if err := d.AddToCart(item, 2); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, l := range d.Cart() {
		got = append(got, l.Item)
	}
	if want := []string{"apple", "Banana", "Earl Grey", "eclair", "Éclair"}; !slices.Equal(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}
	if n := d.Cart().Count(); n != 10 {
		t.Fatalf("count %d, want 10", n)
	}
	var refused *userdata.Error
	if err := d.AddToCart("apple", userdata.MaxQty-1); !errors.As(err, &refused) || refused.Code != userdata.OverLimit {
		t.Fatalf("over MaxQty: %v", err)
	}
	if got := d.RemoveFromCart("apple", 1); got != 1 || d.Cart().Qty("apple") != 1 {
		t.Fatalf("remove 1 of 2: took %d, left %d", got, d.Cart().Qty("apple"))
	}
	if got := d.RemoveFromCart("apple", 9); got != 1 || d.Cart().Qty("apple") != 0 {
		t.Fatalf("remove 9 of 1: took %d, left %d", got, d.Cart().Qty("apple"))
	}
	if got := d.RemoveFromCart("nothing", 0); got != 0 {
		t.Fatalf("remove an absent item: took %d", got)
	}
	b, err := json.Marshal(d.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"theme":"system","cart":{"Banana":2,"Earl Grey":2,"eclair":2,"Éclair":2}}`; string(b) != want {
		t.Fatalf("JSON %s, want %s", b, want)
	}
	var back userdata.Snapshot
	if err := json.Unmarshal(b, &back); err != nil || !slices.Equal(back.Cart, d.Cart()) {
		t.Fatalf("JSON round trip: %v, %v", back, err)
	}
}

func TestCartFull(t *testing.T) {
	t.Parallel()
	d := userdata.Of(mustOpenSession(t))
	for i := range userdata.MaxItems {
		if err := d.AddToCart(string(rune('a'+i)), 1); err != nil {
			t.Fatal(err)
		}
	}
	var refused *userdata.Error
	if err := d.AddToCart("one more", 1); !errors.As(err, &refused) || refused.Code != userdata.OverLimit {
		t.Fatalf("the %dth kind: %v", userdata.MaxItems+1, err)
	}
	if err := d.AddToCart("a", 1); err != nil {
		t.Fatalf("more of a kind in a full cart: %v", err)
	}
}

func TestNoticesOnce(t *testing.T) {
	t.Parallel()
	d := userdata.Of(mustOpenSession(t))
	if d.HasNotices() || d.Notices() != nil {
		t.Fatal("notices in a new session")
	}
	for _, m := range []string{"one", "two"} {
		d.Notify(m)
	}
	if got := d.Notices(); !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("notices %q", got)
	}
	if d.HasNotices() || len(d.Notices()) != 0 {
		t.Fatal("notices read twice")
	}
}
