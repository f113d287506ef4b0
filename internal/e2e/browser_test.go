package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

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

// TestBrowserEndToEnd is the user's story in a real Chromium, through the
// balancer: login, theme, cart, several replicas, sessions, revocation,
// logout, and a phone-sized viewport.
func TestBrowserEndToEnd(t *testing.T) {
	top := StartTopology(t, Options{RedisTimeout: replicaFaultStoreTimeout})
	b := tab{t: t, ctx: startBrowser(t), lb: top.LB}
	t.Logf("screenshots go to %s", outputDir(t))
	const name = "Ada Lovelace"

	// Not logged in: sent to the login form.
	if got := b.open("/"); got != "/login" {
		t.Fatalf("GET / without a session ended at %q, want /login", got)
	}
	if h := b.text("h1"); h != "Sign in" {
		t.Errorf("login page heading %q, want Sign in", h)
	}
	b.screenshot("login.png")

	// Log in: the greeting, in the default light theme.
	b.do("type the name", chromedp.SendKeys(chromedp.CSS("#name"), name))
	b.submit("log in", `form[action="/login"] button[type=submit]`, http.StatusOK)
	if got := b.path(); got != "/" {
		t.Fatalf("after login the browser is at %q, want /", got)
	}
	if h := b.text("main h1"); h != "Hello, "+name+"!" {
		t.Fatalf("greeting %q, want %q", h, "Hello, "+name+"!")
	}
	lightBG := eval[string](b, `getComputedStyle(document.body).backgroundColor`)
	if cls := eval[string](b, `document.body.className`); cls != "theme-light" {
		t.Errorf("body class %q after login, want theme-light", cls)
	}
	b.screenshot("index-light.png")

	// Dark theme: the body class and the computed colours change.
	b.do("choose dark", chromedp.Click(chromedp.CSS(`input[name=theme][value=dark]`)))
	b.submit("save the theme", `form[action="/theme"] button[type=submit]`, http.StatusOK)
	darkBG := eval[string](b, `getComputedStyle(document.body).backgroundColor`)
	if cls := eval[string](b, `document.body.className`); cls != "theme-dark" {
		t.Errorf("body class %q after choosing dark, want theme-dark", cls)
	}
	if darkBG == lightBG || darkBG != "rgb(21, 24, 28)" {
		t.Errorf("body background %s in the dark theme (light was %s), want the dark rgb(21, 24, 28)", darkBG, lightBG)
	}

	// Cart: add two items, remove one.
	addItem := func(item, qty string) {
		t.Helper()
		b.do("fill the cart form", chromedp.SetValue(chromedp.CSS("#item"), item), chromedp.SetValue(chromedp.CSS("#qty"), qty))
		b.submit("add "+item, `form[action="/cart/add"] button[type=submit]`, http.StatusOK)
	}
	addItem("apple", "2")
	addItem("pear", "1")
	if got, want := b.cart(), []string{"apple × 2", "pear × 1"}; !slices.Equal(got, want) {
		t.Errorf("cart after two adds: %q, want %q", got, want)
	}
	b.submit("remove pear", `button[aria-label="Remove pear"]`, http.StatusOK)
	wantCart := []string{"apple × 2"}
	if got := b.cart(); !slices.Equal(got, wantCart) {
		t.Errorf("cart after removing pear: %q, want %q", got, wantCart)
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

	// ...the first sees both and revokes the other one.
	b.open("/sessions")
	if n := eval[int](b, `document.querySelectorAll("ul.sessions li").length`); n != 2 {
		t.Fatalf("/sessions lists %d sessions after a second login, want 2", n)
	}
	if n := eval[int](b, `document.querySelectorAll("ul.sessions li.current").length`); n != 1 {
		t.Errorf("/sessions marks %d sessions as this one, want 1", n)
	}
	b.screenshot("sessions.png")
	b.submit("revoke the other session", `ul.sessions li:not(.current) form[action="/sessions/revoke"] button`, http.StatusOK)
	if got := b.path(); got != "/sessions" {
		t.Errorf("after revoking, the browser is at %q, want /sessions", got)
	}
	if n := eval[int](b, `document.querySelectorAll("ul.sessions li").length`); n != 1 {
		t.Errorf("/sessions lists %d sessions after revoking one, want 1", n)
	}
	if got := other.open("/"); got != "/login" {
		t.Errorf("the revoked context: GET / ended at %q, want /login", got)
	}

	// A phone-sized viewport: no horizontal scrolling on any page.
	phone := chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch)
	b.do("phone viewport", phone)
	other.do("phone viewport", phone)
	b.open("/")
	b.noHorizontalOverflow("/")
	b.screenshot("index-phone.png")
	b.open("/sessions")
	b.noHorizontalOverflow("/sessions")
	other.open("/login")
	other.noHorizontalOverflow("/login")
	other.screenshot("login-phone.png")

	// Log out: back at the login page, and / sends there again.
	b.open("/")
	b.submit("log out", `form[action="/logout"] button[type=submit]`, http.StatusOK)
	if got := b.path(); got != "/login" {
		t.Errorf("after logout the browser is at %q, want /login", got)
	}
	if got := b.open("/"); got != "/login" {
		t.Errorf("after logout GET / ended at %q, want /login", got)
	}
}
