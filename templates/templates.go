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
	"sync"
	"time"

	"github.com/sessiond/sessiond/internal/userdata"
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
	User    string            // signed-in name, "" when anonymous
	Data    userdata.Snapshot // the signed-in user's theme and cart
	Replica string            // shown in the footer
	Notices []string          // one-shot confirmations of what was done
	Message string            // why the request was refused, above the form
	Status  int               // HTTP status, for the error page
	Name    string            // the login form's previous value

	Sessions *SessionList // the sessions page's list
}

// Theme is the page's theme: the user's choice, System when there is none
// or nobody is signed in.
func (p *Page) Theme() userdata.Theme {
	if p.Data.Theme == "" {
		return userdata.System
	}
	return p.Data.Theme
}

// Limits are userdata's, as numbers a template can print.
type Limits struct {
	NameLen, ItemLen, Qty, Items int
}

// Pages are the parsed pages and the stylesheet.
type Pages struct {
	byName    map[string]*template.Template
	css       []byte
	stylePath string
	buffers   sync.Pool // of *bytes.Buffer
}

// Render's buffers are reused: a new one holds the largest page at once
// (the home page is about 4 KB), so rendering does not grow it step by
// step; one that grew past maxKept (a long sessions list) is dropped.
const (
	renderSize = 8 << 10
	maxKept    = 64 << 10
)

func (p *Pages) putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxKept {
		return
	}
	b.Reset()
	p.buffers.Put(b)
}

var funcs = template.FuncMap{
	"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"exact":  exact,
	"things": things,
}

// Parse parses every page with the layout.
func Parse() (*Pages, error) {
	p := &Pages{byName: map[string]*template.Template{}}
	p.buffers.New = func() any { return bytes.NewBuffer(make([]byte, 0, renderSize)) }
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

// view is what the templates execute with: a Page's fields, its Theme, and
// what every page shares (the stylesheet's URL, the themes, the limits),
// all as fields. A method would be called through reflection on every use
// in a template (the home page uses Theme five times and Limits four); a
// field is read for nearly nothing.
type view struct {
	Title    string
	User     string
	Data     userdata.Snapshot
	Replica  string
	Notices  []string
	Message  string
	Status   int
	Name     string
	Sessions *SessionList

	Style  string
	Theme  userdata.Theme
	Themes []userdata.Theme
	Limits Limits
}

// limits are userdata's, the same for every page, and themes the choices
// the home page offers (the forms' hints and bounds).
var (
	limits = Limits{NameLen: userdata.MaxNameLen, ItemLen: userdata.MaxItemLen, Qty: userdata.MaxQty, Items: userdata.MaxItems}
	themes = userdata.Themes()
)

// Render writes page name with data to w. It renders into a buffer first,
// so a template error never leaves half a page.
func (p *Pages) Render(w io.Writer, name string, data *Page) error {
	t, ok := p.byName[name]
	if !ok {
		return fmt.Errorf("templates: no page %q", name)
	}
	v := &view{
		Title: data.Title, User: data.User, Data: data.Data, Replica: data.Replica, Notices: data.Notices,
		Message: data.Message, Status: data.Status, Name: data.Name, Sessions: data.Sessions,
		Style: p.stylePath, Theme: data.Theme(), Themes: themes, Limits: limits,
	}
	buf := p.buffers.Get().(*bytes.Buffer)
	defer p.putBuffer(buf)
	if err := t.ExecuteTemplate(buf, "layout", v); err != nil {
		return fmt.Errorf("templates: render %s: %w", name, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// CSS is the stylesheet's content.
func (p *Pages) CSS() []byte { return p.css }

// StylePath is the URL pages link the stylesheet with.
func (p *Pages) StylePath() string { return p.stylePath }
