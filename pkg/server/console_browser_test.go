package server

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/nfr-project/nfr/internal/browser"
)

// TestConsoleBrowser signs in to the console in Chromium, filters the
// alerts, opens one and acknowledges it with a note, as an analyst would;
// an alert whose query carries markup must show as text and run nothing.
func TestConsoleBrowser(t *testing.T) {
	e, acme, _ := consoleEnv(t)
	payload := `<img src=x onerror="window.__xss=1">.evil.test`
	e.post(acme, "dns", []byte(strings.Replace(dnsLine(7, "q"), `"query":"q"`, `"query":"<img src=x onerror=\"window.__xss=1\">.evil.test"`, 1)+"\n"), nil)
	// An HTTP request to port 4444 raises an alert too: every string of it a payload.
	e.post(acme, "http", []byte(`{"type":"http","ts":"2026-11-27T07:01:00Z","srcIP":"10.0.0.8","srcPort":40000,"destIP":"10.0.0.99","destPort":4444,"proto":"tcp",`+
		`"host":"<svg onload=window.__xss=2>","url":"/<script>window.__xss=3</script>","method":"GET","userAgent":"\"><img src=x onerror=window.__xss=4>","referrer":"javascript:window.__xss=5","status":200}`+"\n"), nil)

	tab := browser.New(t)
	tab.Do(chromedp.Navigate(e.url+"/"), chromedp.WaitVisible(chromedp.ID("key")))
	tab.Shot("console-signin")
	tab.Do(chromedp.SendKeys(chromedp.ID("key"), acme))
	tab.Click("#signin")
	tab.Do(chromedp.WaitVisible(chromedp.ID("alert-rows")))
	if got := browser.Eval[string](tab, `document.getElementById('tenant').textContent`); got != "acme" {
		t.Fatalf("signed in as %q", got)
	}
	if n := browser.Eval[int](tab, `document.querySelectorAll('#alert-rows tr.a').length`); n != 5 {
		t.Errorf("overview lists %d alerts, want 5", n)
	}
	if c := browser.Eval[string](tab, `document.cookie`); c != "" {
		t.Errorf("the session cookie is readable by scripts: %q", c)
	}
	tab.FullShot("console-overview")

	// The alert list, filtered by source through the form.
	tab.Click(`nav a[href="/alerts"]`)
	tab.Do(chromedp.WaitVisible(chromedp.ID("s-src")), chromedp.SendKeys(chromedp.ID("s-src"), "10.0.0.2"))
	tab.Click("#s-go")
	// The old list is visible until the filtered page has loaded.
	tab.WaitFor(`location.search.includes("src=10.0.0.2") && document.readyState == "complete"`)
	tab.Do(chromedp.WaitVisible(chromedp.ID("alert-rows")))
	if n := browser.Eval[int](tab, `document.querySelectorAll('#alert-rows tr.a').length`); n != 1 {
		t.Fatalf("filtered list: %d alerts, want 1", n)
	}
	if u := browser.Eval[string](tab, `location.search`); !strings.Contains(u, "src=10.0.0.2") {
		t.Errorf("filter not in the URL: %q", u)
	}

	// Open it and acknowledge it with a note.
	tab.Click(`#alert-rows tr.a`)
	tab.Click(`#alert-rows tr.d a.open`)
	tab.Do(chromedp.WaitVisible(chromedp.ID("alert-detail")), chromedp.SendKeys(chromedp.ID("t-note"), "owner says: <i>patched</i>"))
	tab.Click("#t-ack")
	tab.Do(chromedp.WaitVisible(chromedp.ID("notice")))
	if got := browser.Eval[string](tab, `document.getElementById('status').textContent`); got != "acknowledged" {
		t.Errorf("status %q after Acknowledge", got)
	}
	if got := browser.Eval[string](tab, `document.getElementById('note').textContent`); !strings.Contains(got, "owner says: <i>patched</i>") {
		t.Errorf("note %q", got)
	}
	tab.FullShot("console-alert")

	// The list shows the state.
	tab.Do(chromedp.Navigate(e.url+"/alerts?status=acknowledged"), chromedp.WaitVisible(chromedp.ID("alert-rows")))
	if got := browser.Eval[[]string](tab, `[...document.querySelectorAll('#alert-rows .status')].map(s => s.textContent)`); len(got) != 1 || got[0] != "acknowledged" {
		t.Errorf("acknowledged alerts in the list: %q", got)
	}

	// The payload alert: shown as text, nothing ran.
	tab.Do(chromedp.Navigate(e.url+"/host/10.0.0.8"), chromedp.WaitVisible(chromedp.ID("alert-rows")))
	browser.Eval[chromedp.Void](tab, `document.querySelectorAll('#alert-rows tr.a').forEach(r => r.click())`)
	if v := browser.Eval[string](tab, `String(window.__xss)`); v != "undefined" {
		t.Errorf("payload ran: %s", v)
	}
	if n := browser.Eval[int](tab, `document.querySelectorAll('img').length`); n != 0 {
		t.Errorf("%d img elements injected", n)
	}
	text := browser.Eval[string](tab, `document.body.innerText`)
	for _, p := range []string{payload, `<svg onload=window.__xss=2>/<script>window.__xss=3</script>`, `"><img src=x onerror=window.__xss=4>`, `javascript:window.__xss=5`} {
		if !strings.Contains(text, p) {
			t.Errorf("payload %q not shown literally on the host page", p)
		}
	}
	if n := browser.Eval[int](tab, `document.querySelectorAll('svg[onload], script:not(:last-of-type), [href^="javascript"]').length`); n != 0 {
		t.Errorf("%d injected elements", n)
	}
	tab.FullShot("console-host")
	tab.Do(chromedp.Navigate(e.url+"/threats"), chromedp.WaitVisible(chromedp.ID("catalog")))
	tab.Check()

	// Sign out: back to the sign-in page, and the pages are closed.
	tab.Click("#signout")
	tab.Do(chromedp.WaitVisible(chromedp.ID("key")))
	tab.Do(chromedp.Navigate(e.url + "/alerts"))
	tab.Do(chromedp.WaitVisible(chromedp.ID("key")))
}
