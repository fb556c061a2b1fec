package report

import (
	"bytes"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/nfr-project/nfr/internal/browser"
)

// serve serves page at /report.html on 127.0.0.1 and records every path the
// browser asks for, so a test can check that the page fetched nothing else.
func serve(t *testing.T, page string) (url string, requests func() []string) {
	t.Helper()
	var mu sync.Mutex
	var paths []string
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if r.URL.Path != "/report.html" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/report.html", func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), paths...)
	}
}

func visibleRows(tab *browser.Tab) int {
	return browser.Eval[int](tab, `document.querySelectorAll('#alert-rows tr.a:not([hidden])').length`)
}

func shown(tab *browser.Tab) string {
	return browser.Eval[string](tab, `document.getElementById('n-shown').textContent`)
}

// TestBrowserReport loads the demo report in Chromium, filters, sorts and
// opens an alert the way a person would, and fails on any console message
// or CSP violation.
func TestBrowserReport(t *testing.T) {
	s, _ := readSet(t, demoAlerts(t))
	url, requests := serve(t, render(t, s))
	tab := browser.New(t)
	tab.Do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("alert-rows")))
	tab.Shot("report")

	if n := visibleRows(tab); n != 10 || shown(tab) != "10" {
		t.Fatalf("%d rows shown (counter %s), want 10", n, shown(tab))
	}
	if got := browser.Eval[int](tab, `document.querySelectorAll('svg.timeline rect.bar').length`); got == 0 {
		t.Error("timeline has no bars")
	}

	// Filter by typing a source address.
	tab.Do(chromedp.SendKeys(chromedp.ID("f-q"), "10.0.1.17"))
	if n := visibleRows(tab); n != 1 || shown(tab) != "1" {
		t.Errorf("filter 10.0.1.17: %d rows (counter %s), want 1 (one incident)", n, shown(tab))
	}
	if others := browser.Eval[int](tab, `[...document.querySelectorAll('#alert-rows tr.a:not([hidden]) td:nth-child(4)')].filter(td => td.textContent !== '10.0.1.17').length`); others != 0 {
		t.Errorf("%d rows of other sources shown", others)
	}
	tab.Shot("report-filtered")
	tab.Click("#f-reset")
	if n := visibleRows(tab); n != 10 {
		t.Errorf("after Clear: %d rows, want 10", n)
	}

	// Pick a threat in the summary table; the list follows.
	tab.Click(`#threats button[data-threat="dga"]`)
	if n := visibleRows(tab); n != 1 || browser.Eval[string](tab, `document.getElementById('f-threat').value`) != "dga" {
		t.Errorf("threat dga: %d rows, want 1", n)
	}
	// And a minimum severity from the select, as a person picks it.
	tab.Click("#f-reset")
	browser.Eval[chromedp.Void](tab, `(s => { s.value = '4'; s.dispatchEvent(new Event('change')); })(document.getElementById('f-sev'))`)
	if n := visibleRows(tab); n != 5 {
		t.Errorf("severity >= high: %d rows, want 5", n)
	}
	tab.Click("#f-reset")

	// Sort by severity: ascending, then descending.
	sevs := `[...document.querySelectorAll('#alert-rows tr.a')].map(r => +r.dataset.sev)`
	tab.Click(`th button[data-key="sev"]`)
	asc := browser.Eval[[]int](tab, sevs)
	tab.Click(`th button[data-key="sev"]`)
	desc := browser.Eval[[]int](tab, sevs)
	if len(asc) != 10 || asc[0] != 2 || asc[9] != 4 || desc[0] != 4 || desc[9] != 2 {
		t.Errorf("sort by severity: asc %v, desc %v", asc, desc)
	}
	if got := browser.Eval[string](tab, `document.querySelector('th button[data-key="sev"]').parentNode.getAttribute('aria-sort')`); got != "descending" {
		t.Errorf("aria-sort %q", got)
	}
	// Each detail row still follows its alert.
	if bad := browser.Eval[int](tab, `[...document.querySelectorAll('#alert-rows tr.a')].filter(r => r.nextElementSibling.id !== 'detail-' + r.id.slice(6)).length`); bad != 0 {
		t.Errorf("%d detail rows separated from their alert by sorting", bad)
	}

	// Open the first alert: its evidence shows.
	tab.Click(`#alert-rows tr.a`)
	tab.Do(chromedp.WaitVisible(chromedp.CSS(`#alert-rows tr.d:not([hidden])`)))
	detail := browser.Eval[string](tab, `document.querySelector('#alert-rows tr.d:not([hidden])').innerText`)
	for _, w := range []string{"threat", "from", "to", "event"} {
		if !strings.Contains(detail, w) {
			t.Errorf("detail lacks %q:\n%s", w, detail)
		}
	}
	if got := browser.Eval[string](tab, `document.querySelector('#alert-rows tr.a').getAttribute('aria-expanded')`); got != "true" {
		t.Errorf("aria-expanded %q after opening", got)
	}
	tab.FullShot("report-open-alert")
	tab.Check()
	if r := requests(); len(r) != 1 {
		t.Errorf("the page made requests besides itself: %q", r)
	}
}

// TestBrowserXSS renders alerts whose every string field carries HTML and
// script, with and without the CSP, and checks in the browser that nothing
// ran and the payloads read as text.
func TestBrowserXSS(t *testing.T) {
	s, _ := readSet(t, filepath.Join("testdata", "xss.alerts.json"))
	page := render(t, s)
	for _, withCSP := range []bool{true, false} {
		name := "escaping-and-csp"
		p := page
		if !withCSP {
			// Escaping alone must hold: drop the CSP and look again.
			name = "escaping-only"
			i := strings.Index(p, `<meta http-equiv="Content-Security-Policy"`)
			j := i + strings.Index(p[i:], ">")
			p = p[:i] + p[j+1:]
		}
		t.Run(name, func(t *testing.T) {
			url, requests := serve(t, p)
			tab := browser.New(t)
			tab.Do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("alert-rows")))
			// Open every alert, hover everything, use the filter.
			browser.Eval[chromedp.Void](tab, `document.querySelectorAll('#alert-rows tr.a').forEach(r => r.click())`)
			browser.Eval[chromedp.Void](tab, `document.querySelectorAll('*').forEach(e => e.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})))`)
			tab.Do(chromedp.SendKeys(chromedp.ID("f-q"), `<img src=x`))
			if n := visibleRows(tab); n != 2 {
				t.Errorf("filter on a payload: %d rows, want 2", n)
			}
			tab.FullShot("xss")
			if v := browser.Eval[string](tab, `String(window.__xss)`); v != "undefined" {
				t.Errorf("payload %s ran", v)
			}
			checks := map[string]string{
				"injected elements":        `document.querySelectorAll('#injected, iframe, img, script:not(:last-of-type)').length`,
				"event handler attributes": `[...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length`,
				"javascript: links":        `[...document.querySelectorAll('[href],[src]')].filter(e => /javascript:/i.test(e.getAttribute('href') || e.getAttribute('src'))).length`,
			}
			for what, js := range checks {
				if n := browser.Eval[int](tab, js); n != 0 {
					t.Errorf("%d %s in the page", n, what)
				}
			}
			if n := browser.Eval[int](tab, `document.scripts.length`); n != 1 {
				t.Errorf("%d scripts in the page, want our one", n)
			}
			text := browser.Eval[string](tab, `document.body.innerText`)
			for _, payload := range []string{
				`<script>window.__xss=1</script>`, `<img src=x onerror="window.__xss=2">`, `"><svg onload=window.__xss=3>`,
				`</style></script><b id=injected>bold</b><!--`, `${window.__xss=7}{{.}}&amp;&lt;`,
			} {
				if c := strings.Count(text, payload); c < 3 {
					t.Errorf("payload %q shows literally %d times, want it in every field", payload, c)
				}
			}
			// The threat select offers the payload ids as text.
			opts := browser.Eval[[]string](tab, `[...document.querySelectorAll('#f-threat option')].map(o => o.textContent)`)
			if len(opts) != 9 || !bytes.Contains([]byte(strings.Join(opts, "\n")), []byte(`<script>window.__xss=1</script>`)) {
				t.Errorf("threat options %q", opts)
			}
			tab.Check()
			if r := requests(); len(r) != 1 {
				t.Errorf("the page made requests besides itself: %q", r)
			}
		})
	}
}
