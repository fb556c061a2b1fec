// Package browser drives a headless Chromium for the tests of the pages NFR
// renders (nfr-report's HTML, the engine console) through chromedp. A Tab
// records every console message, uncaught exception and Content-Security-
// Policy violation of its pages, so a test can fail on any of them, and saves
// screenshots where a person can look at them (t.ArtifactDir, kept with
// go test -artifacts).
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Path finds Chromium: $NFR_CHROMIUM, else chromium or chromium-browser on
// PATH, else /usr/bin/chromium.
func Path() (string, bool) {
	if p := os.Getenv("NFR_CHROMIUM"); p != "" {
		return p, true
	}
	for _, n := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, true
		}
	}
	return "", false
}

// cspRecorder runs before any script of each page (the browser injects it,
// so the page's CSP does not apply to it) and keeps the page's CSP
// violations for Tab.Check.
const cspRecorder = `window.__nfrCSP = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__nfrCSP.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at line ' + e.lineNumber);
});`

// Tab is one browser tab of a test.
type Tab struct {
	Ctx context.Context
	t   testing.TB
	dir string

	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

// New starts Chromium with a fresh profile under t.TempDir() and returns a
// tab; the browser stops when the test ends. Without Chromium the test is
// skipped, saying so.
func New(t *testing.T) *Tab {
	t.Helper()
	bin, ok := Path()
	if !ok {
		t.Skip("chromium not installed (apt-get install chromium, as scripts/setup.sh does): browser test skipped")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // runs as root in CI containers
		chromedp.DisableGPU,
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.WindowSize(1400, 1000),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-proxy-server", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	tab := &Tab{Ctx: ctx, t: t, dir: t.ArtifactDir()}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: cspRecorder}); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			tab.mu.Lock()
			tab.msgs = append(tab.msgs, m)
			tab.mu.Unlock()
		}
	}()
	return tab
}

// Do runs steps, failing the test on an error; each step has 20 s.
func (b *Tab) Do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// WaitFor waits until the JavaScript expression expr is true in the page,
// through navigations (an evaluation a navigation interrupts is tried
// again), failing the test after 20 s.
func (b *Tab) WaitFor(expr string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.Ctx, time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s: %v", expr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Click clicks the element that the CSS selector sel matches, with the
// mouse, as a person would. It scrolls the element into view and lets the
// page settle first: a click computed while the layout still moves (after a
// filter shrank the page, say) lands beside its target.
func (b *Tab) Click(sel string) {
	b.t.Helper()
	b.Do(chromedp.ScrollIntoView(chromedp.CSS(sel)), chromedp.Sleep(100*time.Millisecond), chromedp.Click(chromedp.CSS(sel)))
}

// Eval evaluates a JavaScript expression in the page and returns its value.
func Eval[T any](b *Tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// Shot saves a screenshot of the window as name.png in the test's
// artifact directory.
func (b *Tab) Shot(name string) string {
	b.t.Helper()
	return b.save(name, chromedp.CaptureScreenshot())
}

// FullShot saves a screenshot of the whole page. Capturing beyond the
// viewport leaves the layout off by some pixels for a while, and a mouse
// click computed then lands beside its target: take it last.
func (b *Tab) FullShot(name string) string {
	b.t.Helper()
	return b.save(name, chromedp.FullScreenshot(100))
}

func (b *Tab) save(name string, shot chromedp.Action[[]byte]) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", p)
	return p
}

// Problems returns the console errors, warnings, exceptions and CSP
// violations seen so far, one per line.
func (b *Tab) Problems() []string {
	b.t.Helper()
	var out []string
	for _, v := range Eval[[]string](b, `window.__nfrCSP || []`) {
		out = append(out, "CSP violation: "+v)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.msgs {
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
			out = append(out, fmt.Sprintf("console %s (%s:%d)", m, m.URL, m.Line+1))
		}
	}
	return out
}

// Check fails the test if the page logged an error or warning, threw, or
// violated its CSP.
func (b *Tab) Check() {
	b.t.Helper()
	// Console messages arrive as events: give the last ones a moment.
	time.Sleep(100 * time.Millisecond)
	if p := b.Problems(); len(p) > 0 {
		b.t.Errorf("the page reported:\n%s", strings.Join(p, "\n"))
	}
}
