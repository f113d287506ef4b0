package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium; the test fails, naming the package,
// when it is missing.
const chromiumPath = "/usr/bin/chromium"

// startBrowser runs a headless Chromium in its own process group, with a
// fresh profile, and returns the context of its first tab. When the test
// ends the browser is closed, then its group is killed by the browser's PID
// in case a child outlived it.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium not found at %s: install it with apt-get install -y chromium (or run 'make deps')", chromiumPath)
	}
	var cmd *exec.Cmd
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // as root, Chromium refuses to start with its sandbox
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(1280, 900),
		chromedp.ModifyCmdFunc(func(c *exec.Cmd) {
			c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
			cmd = c
		}),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = chromedp.Cancel(cctx)
		cancelBrowser()
		cancelAlloc()
		if cmd != nil && cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	// Start the browser and open the tab now, on ctx itself (a tab lives
	// as long as the context of its first Do), so a failure to start is
	// reported as such.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tab wraps a browser tab's context with the test's failure reporting.
type tab struct {
	t   *testing.T
	ctx context.Context
	lb  string
}

// do runs actions, failing the test on error.
func (b tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// submit clicks a button that submits a form and waits for the page that
// comes of it (after redirects); it fails unless that page answered want.
func (b tab) submit(what, button string, want int) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	if int(resp.Status) != want {
		b.t.Fatalf("%s: page answered %d %s (%s), want %d", what, resp.Status, resp.StatusText, resp.URL, want)
	}
}

// open navigates to path and returns the final URL path (after redirects).
func (b tab) open(path string) string {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.lb+path))
	return b.path()
}

func (b tab) path() string {
	b.t.Helper()
	return strings.TrimPrefix(eval[string](b, `location.href`), b.lb)
}

func (b tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s on %s: %v", sel, b.path(), err)
	}
	return strings.TrimSpace(s)
}

func eval[T any](b tab, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// screenshot saves the whole page as a PNG file in the output folder.
func (b tab) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(outputDir(b.t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

// cart is the cart as the page lists it: "item × qty" per line.
func (b tab) cart() []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll("ul.cart li")].map(li =>
		li.querySelector(".item").textContent.trim() + " " + li.querySelector(".qty").textContent.trim())`)
}

// noHorizontalOverflow fails the test when the page is wider than the
// viewport.
func (b tab) noHorizontalOverflow(page string) {
	b.t.Helper()
	sw := eval[int](b, `document.documentElement.scrollWidth`)
	iw := eval[int](b, `window.innerWidth`)
	if sw > iw {
		b.t.Errorf("%s at a phone's width: the page is %dpx wide in a %dpx viewport (horizontal scrolling)", page, sw, iw)
	}
}

// prefersColorScheme emulates the device's light or dark setting, as the
// CSS media feature prefers-color-scheme sees it.
func prefersColorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

// style is a computed style property of the first element sel matches.
func (b tab) style(sel, prop string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).getPropertyValue(%q)`, sel, prop))
}

// box is the first element sel matches, as laid out.
type box struct{ Left, Top, Right, Bottom, Height float64 }

func (b tab) box(sel string) box {
	b.t.Helper()
	return eval[box](b, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect();
		return {Left: r.left, Top: r.top, Right: r.right, Bottom: r.bottom, Height: r.height}; })()`, sel))
}

// notices are the one-shot messages the page shows.
func (b tab) notices() []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll(".notice")].map(n => n.textContent.trim())`)
}

// Background colours of the body in the two palettes.
const (
	lightBG = "rgb(238, 241, 245)"
	darkBG  = "rgb(21, 24, 28)"
)

// TestBrowserEndToEnd is the user's story in a real Chromium, through the
// balancer: the System theme under a dark device setting before and after
// login, Light and Dark, one-shot notices, the cart, several replicas, the
// sessions page, revocation, logout, and a phone-sized viewport.
func TestBrowserEndToEnd(t *testing.T) {
	top := StartTopology(t, Options{RedisTimeout: replicaFaultStoreTimeout})
	b := tab{t: t, ctx: startBrowser(t), lb: top.LB}
	t.Logf("screenshots go to %s", outputDir(t))
	const name = "Ada Lovelace"

	// Not logged in: sent to the login form, in the device's light scheme.
	b.do("prefer light", prefersColorScheme("light"))
	if got := b.open("/"); got != "/login" {
		t.Fatalf("GET / without a session ended at %q, want /login", got)
	}
	if h := b.text("h1"); h != "Sign in" {
		t.Errorf("login page heading %q, want Sign in", h)
	}
	if cls, bg := eval[string](b, `document.body.className`), b.style("body", "background-color"); cls != "theme-system" || bg != lightBG {
		t.Errorf("login page on a light device: body class %q, background %s; want theme-system, %s", cls, bg, lightBG)
	}
	b.screenshot("login.png")

	// A dark device: the same page follows it...
	b.do("prefer dark", prefersColorScheme("dark"))
	if bg, fg := b.style("body", "background-color"), b.style("body", "color"); bg != darkBG || fg != "rgb(231, 234, 238)" {
		t.Errorf("login page on a dark device: background %s, text %s; want %s and rgb(231, 234, 238)", bg, fg, darkBG)
	}
	b.screenshot("login-dark.png")

	// ...and so does the home page after login, with no theme chosen: no
	// flip to white.
	b.do("type the name", chromedp.SendKeys(chromedp.CSS("#name"), name))
	b.submit("log in", `form[action="/login"] button[type=submit]`, http.StatusOK)
	if got := b.path(); got != "/" {
		t.Fatalf("after login the browser is at %q, want /", got)
	}
	if h := b.text("main h1"); h != "Hello, "+name+"!" {
		t.Fatalf("greeting %q, want %q", h, "Hello, "+name+"!")
	}
	if cls, bg := eval[string](b, `document.body.className`), b.style("body", "background-color"); cls != "theme-system" || bg != darkBG {
		t.Errorf("after login on a dark device with no theme chosen: body class %q, background %s; want theme-system, %s", cls, bg, darkBG)
	}
	if checked := eval[string](b, `document.querySelector("input[name=theme]:checked").value`); checked != "system" {
		t.Errorf("theme radio checked %q, want system", checked)
	}
	b.screenshot("index-system-dark.png")

	// Light, chosen: a notice says so, once.
	b.do("choose light", chromedp.Click(chromedp.CSS(`input[name=theme][value=light]`)))
	b.submit("save the light theme", `form[action="/theme"] button[type=submit]`, http.StatusOK)
	if cls, bg := eval[string](b, `document.body.className`), b.style("body", "background-color"); cls != "theme-light" || bg != lightBG {
		t.Errorf("Light chosen on a dark device: body class %q, background %s; want theme-light, %s", cls, bg, lightBG)
	}
	if got := b.notices(); !slices.Equal(got, []string{"Theme saved: Light."}) {
		t.Errorf("notices after saving the theme: %q", got)
	}

	// Cart: adds in any case, listed as a person reads them, with a
	// notice, a count in the header, the form's fields in one row.
	addItem := func(item, qty string) {
		t.Helper()
		b.do("fill the cart form", chromedp.SetValue(chromedp.CSS("#item"), item), chromedp.SetValue(chromedp.CSS("#qty"), qty))
		b.submit("add "+item, `form[action="/cart/add"] button[type=submit]`, http.StatusOK)
	}
	addItem("Earl Grey", "1")
	addItem("pear", "1")
	addItem("apple", "3")
	if got, want := b.cart(), []string{"apple × 3", "Earl Grey × 1", "pear × 1"}; !slices.Equal(got, want) {
		t.Errorf("cart after three adds: %q, want %q", got, want)
	}
	if got := b.notices(); !slices.Equal(got, []string{"Added 3 × apple."}) {
		t.Errorf("notices after adding apples: %q", got)
	}
	if bg, fg := b.style(".notice", "background-color"), b.style(".notice", "color"); bg != "rgb(227, 244, 232)" || fg != "rgb(13, 74, 34)" {
		t.Errorf("notice colours %s on %s, want the palette's rgb(13, 74, 34) on rgb(227, 244, 232)", fg, bg)
	}
	if got := b.text(".cart-link .count"); got != "5 items" {
		t.Errorf("header count %q, want 5 items", got)
	}
	item, qty, add := b.box("#item"), b.box("#qty"), b.box(`form[action="/cart/add"] button`)
	if item.Top != qty.Top || item.Bottom != add.Bottom || item.Right >= qty.Left || qty.Right >= add.Left {
		t.Errorf("cart form not in one aligned row: item %+v, qty %+v, button %+v", item, qty, add)
	}
	cart, theme := b.box("#cart"), b.box(`section[aria-labelledby="theme-heading"]`)
	if theme.Left <= cart.Right || theme.Top != cart.Top {
		t.Errorf("at 1280px the cart (%+v) and the theme (%+v) are not side by side", cart, theme)
	}
	if bg, weight := b.style(`header button.link`, "background-color"), b.style(`header button.link`, "font-weight"); bg != "rgba(0, 0, 0, 0)" || weight != "400" {
		t.Errorf("Log out is not quiet: background %s, weight %s", bg, weight)
	}
	b.screenshot("index-notice.png")
	b.do("reload", chromedp.Reload())
	if got := b.notices(); len(got) != 0 {
		t.Errorf("notices shown again after a reload: %q", got)
	}
	b.screenshot("index-light.png")

	// Remove one apple, then the pear.
	b.submit("remove one apple", `button[aria-label="Remove one apple"]`, http.StatusOK)
	b.submit("remove pear", `button[aria-label="Remove pear"]`, http.StatusOK)
	wantCart := []string{"apple × 2", "Earl Grey × 1"}
	if got := b.cart(); !slices.Equal(got, wantCart) {
		t.Errorf("cart after removing one apple and the pear: %q, want %q", got, wantCart)
	}
	if got := b.notices(); !slices.Equal(got, []string{"Removed pear from your cart."}) {
		t.Errorf("notices after removing the pear: %q", got)
	}

	// Dark, chosen: the body class and the computed colours change.
	b.do("choose dark", chromedp.Click(chromedp.CSS(`input[name=theme][value=dark]`)))
	b.submit("save the theme", `form[action="/theme"] button[type=submit]`, http.StatusOK)
	b.do("prefer light again", prefersColorScheme("light"))
	if cls, bg := eval[string](b, `document.body.className`), b.style("body", "background-color"); cls != "theme-dark" || bg != darkBG {
		t.Errorf("Dark chosen on a light device: body class %q, background %s; want theme-dark, %s", cls, bg, darkBG)
	}
	b.screenshot("index-dark.png")

	// Reloads go round the replicas; name, theme and cart stay.
	seen := map[string]int{}
	for i := range 6 {
		b.do("reload", chromedp.Reload())
		replica := b.text("footer code")
		seen[replica]++
		h, cls, cart := b.text("main h1"), eval[string](b, `document.body.className`), b.cart()
		if h != "Hello, "+name+"!" || cls != "theme-dark" || !slices.Equal(cart, wantCart) {
			t.Errorf("reload %d (replica %s): heading %q, body class %q, cart %q; want the same user, dark theme and cart", i, replica, h, cls, cart)
		}
	}
	t.Logf("six reloads served by %v", seen)
	if len(seen) < 2 {
		t.Errorf("six reloads were all served by %v; want several replicas (round-robin)", seen)
	}

	// /sessions lists this one session.
	if got := b.open("/sessions"); got != "/sessions" {
		t.Fatalf("GET /sessions ended at %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll("ul.sessions li").length`); n != 1 {
		t.Errorf("/sessions lists %d sessions, want 1", n)
	}

	// A second, separate browser context logs in as the same name...
	ctx2, cancel2 := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	defer cancel2()
	// The first Do opens the tab, which lives as long as the context Do
	// gets: ctx2 itself, not one with the timeout of tab.do.
	if err := chromedp.Do(ctx2); err != nil {
		t.Fatalf("open a second browser context: %v", err)
	}
	other := tab{t: t, ctx: ctx2, lb: top.LB}
	if got := other.open("/"); got != "/login" {
		t.Fatalf("second context: GET / ended at %q, want /login (its own cookies)", got)
	}
	other.do("type the name", chromedp.SendKeys(chromedp.CSS("#name"), name))
	other.submit("log in (second context)", `form[action="/login"] button[type=submit]`, http.StatusOK)
	if h := other.text("main h1"); h != "Hello, "+name+"!" {
		t.Fatalf("second context greeting %q", h)
	}

	// ...the first sees both, itself first, in words, and revokes the
	// other one.
	b.open("/sessions")
	if n := eval[int](b, `document.querySelectorAll("ul.sessions li").length`); n != 2 {
		t.Fatalf("/sessions lists %d sessions after a second login, want 2", n)
	}
	if n := eval[int](b, `document.querySelectorAll("ul.sessions li.current").length`); n != 1 {
		t.Errorf("/sessions marks %d sessions as this one, want 1", n)
	}
	if first := eval[string](b, `document.querySelector("ul.sessions li").className`); first != "card current" {
		t.Errorf("the first session listed has class %q, want this one (card current)", first)
	}
	if got := b.text("ul.sessions li.current dd:nth-of-type(2)"); got != "just now" {
		t.Errorf("this session was last active %q, want just now", got)
	}
	if got := b.text("ul.sessions li:not(.current) dd:nth-of-type(1)"); !strings.HasSuffix(got, " ago") && got != "just now" {
		t.Errorf("the other session signed in %q, want a relative time", got)
	}
	if title := eval[string](b, `document.querySelector("ul.sessions li.current time").title`); !strings.HasSuffix(title, " UTC") {
		t.Errorf("relative time without the exact one at hand: title %q", title)
	}
	if ends := b.text("ul.sessions li.current dd.ends"); !strings.HasPrefix(ends, "Signs out after ") || !strings.Contains(ends, " without use, at the latest on ") {
		t.Errorf("Ends says %q, want what ends the session", ends)
	}
	b.screenshot("sessions.png")
	b.submit("revoke the other session", `ul.sessions li:not(.current) form[action="/sessions/revoke"] button`, http.StatusOK)
	if got := b.path(); got != "/sessions" {
		t.Errorf("after revoking, the browser is at %q, want /sessions", got)
	}
	if n := eval[int](b, `document.querySelectorAll("ul.sessions li").length`); n != 1 {
		t.Errorf("/sessions lists %d sessions after revoking one, want 1", n)
	}
	if got := b.notices(); len(got) != 1 || !strings.HasPrefix(got[0], "Signed out of Headless Chrome") {
		t.Errorf("notices after revoking: %q", got)
	}
	b.screenshot("sessions-notice.png")
	if got := other.open("/"); got != "/login" {
		t.Errorf("the revoked context: GET / ended at %q, want /login", got)
	}

	// A phone-sized viewport: no horizontal scrolling on any page, one
	// column.
	phone := chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch)
	b.do("phone viewport", phone)
	other.do("phone viewport", phone)
	b.open("/")
	b.noHorizontalOverflow("/")
	cart, theme = b.box("#cart"), b.box(`section[aria-labelledby="theme-heading"]`)
	if theme.Top < cart.Bottom {
		t.Errorf("at 390px the theme card (%+v) is not below the cart (%+v)", theme, cart)
	}
	b.screenshot("index-phone.png")
	b.open("/sessions")
	b.noHorizontalOverflow("/sessions")
	b.screenshot("sessions-phone.png")
	other.open("/login")
	other.noHorizontalOverflow("/login")
	other.screenshot("login-phone.png")

	// An error page says what happened. It reads no session (an unknown
	// address costs no store call), so it is in the device's scheme.
	b.open("/no/such/page")
	if h, msg := b.text("main h1"), b.text(".alert"); h != "Not Found" || msg != "There is no page at this address." {
		t.Errorf("404 page: heading %q, message %q", h, msg)
	}
	b.noHorizontalOverflow("/no/such/page")
	b.screenshot("not-found-phone.png")

	// An item's Remove button takes all of it, its −1 button one (both
	// are buttons of the item's one form).
	b.open("/")
	b.submit("remove the apples", `button[aria-label="Remove apple"]`, http.StatusOK)
	if got, want := b.cart(), []string{"Earl Grey × 1"}; !slices.Equal(got, want) {
		t.Errorf("cart after Remove of 2 apples: %q, want %q", got, want)
	}

	// Log out, in the header: back at the login page, and / sends there
	// again.
	b.submit("log out", `form[action="/logout"] button[type=submit]`, http.StatusOK)
	if got := b.path(); got != "/login" {
		t.Errorf("after logout the browser is at %q, want /login", got)
	}
	if got := b.open("/"); got != "/login" {
		t.Errorf("after logout GET / ended at %q, want /login", got)
	}
}
