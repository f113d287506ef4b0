package templates

import (
	"io"
	"testing"

	"github.com/sessiond/sessiond/internal/userdata"
)

// BenchmarkRenderHome is the signed-in home page with a theme, a two-item
// cart and a notice: what every logged-in GET / renders.
func BenchmarkRenderHome(b *testing.B) {
	p, err := Parse()
	if err != nil {
		b.Fatal(err)
	}
	page := &Page{
		Title: "Home", User: "bench", Replica: "bench", Notices: []string{"Added 2 × apple."},
		Data: userdata.Snapshot{Theme: userdata.Dark, Cart: userdata.Cart{{Item: "apple", Qty: 2}, {Item: "pear", Qty: 1}}},
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Render(io.Discard, "index", page); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderLogin is the anonymous login form.
func BenchmarkRenderLogin(b *testing.B) {
	p, err := Parse()
	if err != nil {
		b.Fatal(err)
	}
	page := &Page{Title: "Sign in", Replica: "bench"}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Render(io.Discard, "login", page); err != nil {
			b.Fatal(err)
		}
	}
}
