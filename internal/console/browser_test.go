package console

import (
	"context"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fhi/sysvak-import/internal/testtool"
)

// -screenshots DIR (or CONSOLE_SCREENSHOTS=DIR) makes the browser tests save PNGs of the main
// pages there; the README shows the ones in docs/console/:
//
//	go test ./internal/console -run TestBrowser -screenshots "$PWD/docs/console"
var screenshotDir = flag.String("screenshots", os.Getenv("CONSOLE_SCREENSHOTS"),
	"save screenshots of the console's main pages into this folder")

type browserT struct {
	t   *testing.T
	ctx context.Context
}

// newBrowser starts Debian's chromium headless (a missing chromium fails the test under CI=true).
func newBrowser(t *testing.T) *browserT {
	t.Helper()
	path := testtool.LookPath(t, "chromium", "apt-get install -y chromium")
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860), chromedp.Flag("lang", "nb-NO"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelA)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(cancelB)
	b := &browserT{t: t, ctx: bctx}
	b.do(chromedp.EmulateViewport(1280, 860))
	return b
}

func (b *browserT) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func (b *browserT) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *browserT) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *browserT) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

// shot saves a full-page PNG when -screenshots is given.
func (b *browserT) shot(name string) {
	b.t.Helper()
	if *screenshotDir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(*screenshotDir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	p := filepath.Join(*screenshotDir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", p)
}

// forgedPost makes the page send a form to action with the given CSRF token ("" for none).
func (b *browserT) forgedPost(action, token string) {
	b.t.Helper()
	b.eval(`(() => { const f = document.createElement("form"); f.method = "post"; f.action = "` + action + `";
		const p = document.createElement("input"); p.name = "password"; p.value = "x"; f.appendChild(p);
		if ("` + token + `") { const c = document.createElement("input"); c.name = "csrf_token"; c.value = "` + token + `"; f.appendChild(c); }
		document.body.appendChild(f); f.submit(); return "sent"; })()`)
	b.do(chromedp.WaitVisible(chromedp.ID("error-page")))
}

// status is the HTTP status of the page shown now.
func (b *browserT) status() int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`performance.getEntriesByType("navigation")[0].responseStatus`))
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

// login fills the form from the keyboard: the user name field has focus, Tab moves on, Enter sends.
func (b *browserT) login(base, user, pw string) {
	b.t.Helper()
	b.do(chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.KeyEvent(user), chromedp.KeyEvent("\t"), chromedp.KeyEvent(pw), chromedp.KeyEvent("\r"))
}

// TestBrowserOperatorDay drives a real browser through an operator's day: sign in, the list, a
// file's report, unlock with a wrong and the right password, a POST without CSRF token, sign out.
func TestBrowserOperatorDay(t *testing.T) {
	b := newBrowser(t)
	e := newEnv(t, fixtureFiles(t))
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)

	b.do(chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("login-submit")))
	if loc := b.location(); !strings.HasSuffix(loc, "/login") {
		t.Fatalf("not sent to the login page: %s", loc)
	}
	b.shot("login")
	b.login(ts.URL, opName, opPassword)
	b.do(chromedp.WaitVisible(chromedp.CSS("table.files")))
	if list := b.text("table.files"); !strings.Contains(list, idWaiting) || !strings.Contains(list, "venter på passord") {
		t.Fatalf("file list: %q", list)
	}
	b.shot("list")
	// Keyboard: the first Tab reaches the skip link.
	b.do(chromedp.KeyEvent("\t"))
	if cls := b.eval(`document.activeElement.className`); cls != "skip" {
		t.Errorf("first Tab focuses %q, want the skip link", cls)
	}

	// The report of a file with findings.
	b.do(chromedp.Click(chromedp.CSS(`a[href="/files/`+idRowErrors+`"]`)), chromedp.WaitVisible(chromedp.CSS("table.findings")))
	if f := b.text("table.findings"); !strings.Contains(f, "id.checksum") {
		t.Errorf("findings table: %q", f)
	}
	b.shot("file-report")

	// Unlock: the wrong password first, then the right one.
	b.do(chromedp.Navigate(ts.URL+"/files/"+idWaiting), chromedp.WaitVisible(chromedp.ID("unlock-submit")))
	b.shot("file-waiting")
	b.do(chromedp.SendKeys(chromedp.ID("password"), "Vinter-Vaksine-2024"), chromedp.Click(chromedp.ID("unlock-submit")),
		chromedp.WaitVisible(chromedp.CSS("p.flash.error")))
	if msg := b.text("p.flash.error"); !strings.Contains(msg, "Feil passord") {
		t.Fatalf("wrong password outcome: %q", msg)
	}
	b.shot("unlock-wrong")
	b.do(chromedp.SendKeys(chromedp.ID("password"), waitingPW), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS("p.flash.ok")))
	if msg := b.text("p.flash.ok"); !strings.Contains(msg, "behandlet") {
		t.Fatalf("unlock outcome: %q", msg)
	}
	if st := b.text("#status"); st == "venter på passord" || b.text("#tot-rows") == "0" {
		t.Fatalf("unlocked file: status %q rows %q", st, b.text("#tot-rows"))
	}
	b.shot("file-unlocked")

	// A POST without the CSRF token, or with a forged one, is refused even from the signed-in
	// browser (a form another page could make it send; fetch is blocked by the CSP anyway).
	for _, forged := range []struct{ action, token string }{
		{"/files/" + idWaiting + "/unlock", ""}, {"/logout", "forged"},
	} {
		b.forgedPost(forged.action, forged.token)
		if h := b.text("h1"); h != "Noe gikk galt" || !strings.Contains(b.text("p.flash.error"), "Skjemaet") {
			t.Errorf("forged POST %s answered %q", forged.action, h)
		}
	}
	if code := b.status(); code != 403 {
		t.Errorf("forged POST: status %d, want 403", code)
	}

	b.do(chromedp.Navigate(ts.URL+"/?lang=en"), chromedp.WaitVisible(chromedp.CSS("table.files")))
	if h := b.text("h1"); h != "Files" {
		t.Errorf("English list heading %q", h)
	}
	b.shot("list-en")
	b.do(chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-submit")))
	b.do(chromedp.Navigate(ts.URL+"/files/"+idClean), chromedp.WaitVisible(chromedp.ID("login-submit")))
	if loc := b.location(); !strings.Contains(loc, "/login") {
		t.Fatalf("a page after sign-out: %s", loc)
	}
	if n := len(e.audit.find(AuditUnlock)); n != 2 {
		t.Errorf("%d unlock audit entries, want 2", n)
	}
}

// TestBrowserLockout: five wrong passwords lock the account; the right one then fails too.
func TestBrowserLockout(t *testing.T) {
	b := newBrowser(t)
	e := newEnv(t, fixtureFiles(t))
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	for i := range 5 {
		b.login(ts.URL, opName, "feil-passord-"+string(rune('a'+i)))
		b.do(chromedp.WaitVisible(chromedp.ID("login-error")))
	}
	b.login(ts.URL, opName, opPassword)
	b.do(chromedp.WaitVisible(chromedp.ID("login-error")))
	if loc := b.location(); !strings.HasSuffix(loc, "/login") {
		t.Fatalf("a locked account signed in: %s", loc)
	}
	b.shot("login-locked")
	a := e.audit.find(AuditLogin)
	if len(a) != 6 || a[4].Detail != "locked_now" || a[5].Detail != "locked" {
		t.Fatalf("audit %+v", a)
	}
	e.clock.Add(16 * time.Minute)
	b.login(ts.URL, opName, opPassword)
	b.do(chromedp.WaitVisible(chromedp.ID("logout")))
}

// TestBrowserEmptyState: a console on an empty state says what to do next.
func TestBrowserEmptyState(t *testing.T) {
	b := newBrowser(t)
	e := newEnv(t, newMemFiles())
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	b.login(ts.URL, opName, opPassword)
	b.do(chromedp.WaitVisible(chromedp.ID("empty")))
	if s := b.text("#empty"); !strings.Contains(s, "sysvak-import serve") {
		t.Fatalf("empty state: %q", s)
	}
	b.shot("empty")
}
