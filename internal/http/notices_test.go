package http

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/sessiond/sessiond/internal/userdata"
)

var noticeRe = regexp.MustCompile(`<p class="notice">(.*?)</p>`)

// noticesOn are the one-shot notices a page shows, unescaped.
func noticesOn(page string) []string {
	var out []string
	for _, m := range noticeRe.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// TestNoticeShownOnce: a change's confirmation is on the next page and
// then gone; showing it is one write, the pages after it write nothing.
func TestNoticeShownOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica("r1", options{})
	b := newBrowser(t)
	b.login(r, "nora")
	expect(t, b.post(r.url+"/cart/add", "item", "apple", "qty", "3"), http.StatusSeeOther)

	before := w.stats()
	if got := noticesOn(b.get(r.url + "/").text); !slices.Equal(got, []string{"Added 3 × apple."}) {
		t.Fatalf("first page after the add shows %q", got)
	}
	if got := writes(redistestDiff(before, w.stats())); got["fcall"] != 1 {
		t.Fatalf("showing the notice wrote %v, want one script call (the removal)", got)
	}
	before = w.stats()
	for _, path := range []string{"/", "/sessions"} {
		if got := noticesOn(b.get(r.url + path).text); len(got) != 0 {
			t.Fatalf("%s shows %q again", path, got)
		}
	}
	if got := writes(redistestDiff(before, w.stats())); len(got) != 0 {
		t.Fatalf("pages without notices wrote %v", got)
	}
	// The API neither shows nor clears them.
	expect(t, b.post(r.url+"/cart/add", "item", "pear"), http.StatusSeeOther)
	getMe(t, b, r)
	if got := noticesOn(b.get(r.url + "/").text); !slices.Equal(got, []string{"Added 1 × pear."}) {
		t.Fatalf("after an API read the page shows %q", got)
	}
}

// TestNoticesBoundedAndInOrder: a client that never loads a page keeps at
// most MaxNotices, the newest, oldest first.
func TestNoticesBoundedAndInOrder(t *testing.T) {
	t.Parallel()
	r := newWorld(t).replica("r1", options{})
	b := newBrowser(t)
	b.login(r, "otto")
	var want []string
	for i := range userdata.MaxNotices + 3 {
		item := fmt.Sprintf("item%d", i)
		expect(t, b.post(r.url+"/cart/add", "item", item), http.StatusSeeOther)
		want = append(want, "Added 1 × "+item+".")
	}
	want = want[len(want)-userdata.MaxNotices:]
	if got := noticesOn(b.get(r.url + "/").text); !slices.Equal(got, want) {
		t.Fatalf("notices %q, want the newest %d in order: %q", got, userdata.MaxNotices, want)
	}
}

// TestConcurrentNotices: notices never make concurrent changes collide:
// every add of 40 at once over three replicas is applied, and the next
// add brings the notices back to MaxNotices, its own last.
func TestConcurrentNotices(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rs := []*replica{w.replica("a", options{}), w.replica("b", options{}), w.replica("c", options{})}
	b := newBrowser(t)
	b.login(rs[0], "pia")
	var wg sync.WaitGroup
	codes := make([]int, 40)
	for i := range 40 {
		wg.Go(func() {
			res, err := b.tryPost(rs[i%3].url+"/cart/add", "item", "plum")
			if err != nil {
				t.Error(err)
				return
			}
			codes[i] = res.StatusCode
		})
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusSeeOther {
			t.Fatalf("add %d: %d", i, c)
		}
	}
	expect(t, b.post(rs[1].url+"/cart/add", "item", "kiwi", "qty", "2"), http.StatusSeeOther)
	got := noticesOn(b.get(rs[2].url + "/").text)
	if len(got) != userdata.MaxNotices || got[len(got)-1] != "Added 2 × kiwi." {
		t.Fatalf("notices after concurrent adds: %q", got)
	}
	if m := getMe(t, b, rs[0]); m.Cart["plum"] != 40 || m.Cart["kiwi"] != 2 {
		t.Fatalf("cart %v, want 40 plums and 2 kiwis", m.Cart)
	}
}
