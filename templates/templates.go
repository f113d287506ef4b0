// Package templates holds the service's HTML pages and stylesheet, embedded
// in the binary and parsed once at start.
package templates

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"time"
)

//go:embed *.html style.css
var files embed.FS

// pageNames are the pages Render knows; each file defines "title" and
// "content", wrapped by layout.html.
var pageNames = []string{"index", "login", "logout", "sessions", "error"}

// Page is the data every page is rendered with. Fields a page does not use
// stay zero.
type Page struct {
	Title   string
	Theme   string // "light" or "dark"; "" follows the system setting
	User    string // signed-in name, "" when anonymous
	Replica string // shown in the footer
	Message string // an error to show above the form
	Status  int    // HTTP status, for the error page
	Name    string // the login form's previous value
	Cart    []CartLine
	MaxQty  int // most of one item
	MaxCart int // most distinct items

	Sessions []SessionRow

	style string // set by Render
}

// Style is the stylesheet's URL, versioned by content so it can be cached.
func (p *Page) Style() string { return p.style }

// CartLine is one item of the cart.
type CartLine struct {
	Item string
	Qty  int64
}

// SessionRow is one session on the sessions page.
type SessionRow struct {
	ID        string
	Device    string
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time
	Current   bool
}

// Pages are the parsed pages and the stylesheet.
type Pages struct {
	byName    map[string]*template.Template
	css       []byte
	stylePath string
}

var funcs = template.FuncMap{
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
}

// Parse parses every page with the layout.
func Parse() (*Pages, error) {
	p := &Pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "layout.html", name+".html")
		if err != nil {
			return nil, fmt.Errorf("templates: parse %s: %w", name, err)
		}
		p.byName[name] = t
	}
	css, err := files.ReadFile("style.css")
	if err != nil {
		return nil, fmt.Errorf("templates: read style.css: %w", err)
	}
	sum := sha256.Sum256(css)
	p.css = css
	p.stylePath = "/static/style.css?v=" + hex.EncodeToString(sum[:6])
	return p, nil
}

// Render writes page name with data to w. It renders into a buffer first,
// so a template error never leaves half a page.
func (p *Pages) Render(w io.Writer, name string, data *Page) error {
	t, ok := p.byName[name]
	if !ok {
		return fmt.Errorf("templates: no page %q", name)
	}
	data.style = p.stylePath
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("templates: render %s: %w", name, err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// CSS is the stylesheet's content.
func (p *Pages) CSS() []byte { return p.css }

// StylePath is the URL pages link the stylesheet with.
func (p *Pages) StylePath() string { return p.stylePath }
