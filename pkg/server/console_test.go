package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
)

// browserClient is an HTTP client that keeps cookies and does not follow
// redirects, so a test sees each answer as a browser gets it.
type browserClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowserClient(t *testing.T, base string) *browserClient {
	jar, _ := cookiejar.New(nil)
	return &browserClient{t: t, base: base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browserClient) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browserClient) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// signIn signs in with key and returns the overview page.
func (b *browserClient) signIn(key string) string {
	b.t.Helper()
	_, page := b.get("/signin")
	resp, body := b.post("/signin", url.Values{"csrf": {csrfOf(b.t, page)}, "key": {key}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		b.t.Fatalf("sign-in: %s %s", resp.Status, body)
	}
	resp, body = b.get("/")
	if resp.StatusCode != 200 {
		b.t.Fatalf("overview: %s %s", resp.Status, body)
	}
	return body
}

// consoleEnv runs an engine with alerts for two accounts: "acme" (3 alerts
// from 10.0.0.1-3) and "other" (2 alerts, queries other*.evil.test).
func consoleEnv(t *testing.T) (e *testEnv, acme, other string) {
	e = newEnv(t, Config{Catalog: map[string]api.ThreatInfo{"c2": {Title: "C2 communication", Severity: 5}}}, false)
	acme, other = e.key("acme"), e.key("other")
	e.post(acme, "dns", dnsBatch(20, 3), nil)
	var b bytes.Buffer
	for i := range 2 {
		b.WriteString(dnsLine(i, fmt.Sprintf("other%d.evil.test", i)) + "\n")
	}
	e.post(other, "dns", b.Bytes(), nil)
	return e, acme, other
}

func TestConsoleSignIn(t *testing.T) {
	e, acme, _ := consoleEnv(t)
	b := newBrowserClient(t, e.url)

	resp, _ := b.get("/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
		t.Fatalf("/ signed out: %s %s", resp.Status, resp.Header.Get("Location"))
	}
	resp, page := b.get("/signin")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
		resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("/signin: %s, headers %v", resp.Status, resp.Header)
	}
	tok := csrfOf(t, page)
	if resp, body := b.post("/signin", url.Values{"csrf": {tok}, "key": {"0123456789abcdef0123456789abcdef01234567"}}); resp.StatusCode != 401 || !strings.Contains(body, "invalid API key") {
		t.Errorf("wrong key: %s", resp.Status)
	}
	if resp, _ := b.post("/signin", url.Values{"csrf": {"forged"}, "key": {acme}}); resp.StatusCode != 403 {
		t.Errorf("forged sign-in token: %s", resp.Status)
	}
	_, page = b.get("/signin")
	resp, _ = b.post("/signin", url.Values{"csrf": {csrfOf(t, page)}, "key": {acme}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %s", resp.Status)
	}
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure || strings.Contains(sess.Value, acme) {
		t.Errorf("session cookie %+v", sess)
	}

	// Under TLS the cookie is Secure.
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, httptest.NewRequest("GET", "https://engine.test/signin", nil))
	if c := rec.Result().Cookies(); len(c) != 1 || !c[0].Secure {
		t.Errorf("cookies under TLS: %+v", c)
	}

	// Sign out: the session is gone.
	_, page = b.get("/")
	if resp, _ := b.post("/signout", url.Values{"csrf": {csrfOf(t, page)}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-out: %s", resp.Status)
	}
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.url)
	jar.SetCookies(u, []*http.Cookie{sess})
	b.c.Jar = jar
	if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("old session after sign-out: %s", resp.Status)
	}
}

var alertLinkRe = regexp.MustCompile(`href="/alert/(\d+)"`)

func TestConsoleAccountsAndTriage(t *testing.T) {
	e, acme, other := consoleEnv(t)
	b := newBrowserClient(t, e.url)
	page := b.signIn(acme)
	for _, w := range []string{"x0.evil.test", "x1.evil.test", "x2.evil.test", `id="tenant">acme<`} {
		if !strings.Contains(page, w) {
			t.Errorf("overview lacks %q", w)
		}
	}
	if strings.Contains(page, "other0.evil.test") {
		t.Fatal("acme sees the other account's alerts")
	}

	// The other account's alert is not found from acme's session.
	ob := newBrowserClient(t, e.url)
	otherPage := ob.signIn(other)
	otherID := alertLinkRe.FindStringSubmatch(otherPage)[1]
	if resp, body := b.get("/alert/" + otherID); resp.StatusCode != 404 || strings.Contains(body, "other") && strings.Contains(body, "evil.test") {
		t.Errorf("acme reading other's alert %s: %s", otherID, resp.Status)
	}

	// Filters.
	_, list := b.get("/alerts?src=10.0.0.2")
	if got := len(alertLinkRe.FindAllString(list, -1)); got != 1 || !strings.Contains(list, "x1.evil.test") {
		t.Errorf("src filter: %d alerts", got)
	}
	_, list = b.get("/alerts?threat=c2&severity=5&status=open")
	if got := len(alertLinkRe.FindAllString(list, -1)); got != 3 {
		t.Errorf("threat+severity filter: %d alerts, want 3", got)
	}
	if resp, _ := b.get("/alerts?severity=9"); resp.StatusCode != 400 {
		t.Errorf("bad severity: %s", resp.Status)
	}

	// Acknowledge one alert with a note.
	id := alertLinkRe.FindStringSubmatch(page)[1]
	resp, detail := b.get("/alert/" + id)
	if resp.StatusCode != 200 || !strings.Contains(detail, "Other alerts of this source") {
		t.Fatalf("alert page: %s", resp.Status)
	}
	note := `<b>checked</b> with the owner`
	if resp, _ := b.post("/alert/"+id+"/status", url.Values{"csrf": {"nope"}, "state": {"acknowledged"}, "note": {note}}); resp.StatusCode != 403 {
		t.Errorf("status without the CSRF token: %s", resp.Status)
	}
	resp, _ = b.post("/alert/"+id+"/status", url.Values{"csrf": {csrfOf(t, detail)}, "state": {"acknowledged"}, "note": {note}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("acknowledge: %s", resp.Status)
	}
	_, detail = b.get("/alert/" + id)
	if !strings.Contains(detail, "&lt;b&gt;checked&lt;/b&gt; with the owner") || !strings.Contains(detail, `id="status">acknowledged<`) {
		t.Errorf("note not shown, escaped, on the alert page")
	}
	_, list = b.get("/alerts?status=acknowledged")
	if got := len(alertLinkRe.FindAllString(list, -1)); got != 1 {
		t.Errorf("acknowledged: %d alerts, want 1", got)
	}
	// Another account cannot change it.
	_, op := ob.get("/")
	if resp, _ := ob.post("/alert/"+id+"/status", url.Values{"csrf": {csrfOf(t, op)}, "state": {"closed"}}); resp.StatusCode != 404 {
		t.Errorf("other closing acme's alert: %s", resp.Status)
	}

	// The API serves the status as an extension field.
	ar := e.alerts(acme, "")
	n := 0
	for _, a := range ar.Alerts {
		if a.Status != nil {
			n++
			if a.Status.State != "acknowledged" || a.Status.Note != note || a.Status.At.IsZero() {
				t.Errorf("nfrStatus %+v", a.Status)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d API alerts carry nfrStatus, want 1", n)
	}
	raw, _ := json.Marshal(ar.Alerts[0])
	t.Logf("API alert: %s", raw)

	// Pages that do not exist.
	for _, p := range []string{"/alert/999999", "/alert/abc", "/host/not-an-ip"} {
		if resp, _ := b.get(p); resp.StatusCode != 404 {
			t.Errorf("%s: %s", p, resp.Status)
		}
	}
	if resp, body := b.get("/threats"); resp.StatusCode != 200 || !strings.Contains(body, `href="/alerts?threat=c2"`) {
		t.Errorf("threats: %s", resp.Status)
	}
	if resp, body := b.get("/host/10.0.0.3"); resp.StatusCode != 200 || !strings.Contains(body, "x2.evil.test") || strings.Contains(body, "x0.evil.test") {
		t.Errorf("host page: %s", resp.Status)
	}
}

// TestConsolePrune: alerts deleted by retention leave the console's index,
// counts and triage states too.
func TestConsolePrune(t *testing.T) {
	e, acme, _ := consoleEnv(t)
	b := newBrowserClient(t, e.url)
	page := b.signIn(acme) // indexes
	id := alertLinkRe.FindStringSubmatch(page)[1]
	_, detail := b.get("/alert/" + id)
	b.post("/alert/"+id+"/status", url.Values{"csrf": {csrfOf(t, detail)}, "state": {"closed"}})
	if _, err := e.store.pruneAlerts(e.srv.cfg.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.store.pruneConsole(); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"console_alerts", "console_threats", "console_counts", "alert_status"} {
		var n int
		if err := e.store.r.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d rows left (%v)", table, n, err)
		}
	}
	if _, body := b.get("/"); strings.Contains(body, "evil.test") {
		t.Error("pruned alerts still on the overview")
	}
}

// TestConsoleAdmin signs in with an admin token from `keys admin`, which
// sees no alerts until it picks an account, then that account's only.
func TestConsoleAdmin(t *testing.T) {
	e, acme, _ := consoleEnv(t)
	var out bytes.Buffer
	if err := KeysCommand(e.store, []string{"admin"}, false, &out, func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out.String())
	if len(tok) != 40 {
		t.Fatalf("admin token %q", tok)
	}
	// The token opens no API door.
	if resp, _ := e.do("GET", "/v1/alerts", tok, nil, nil); resp.StatusCode != 401 {
		t.Errorf("admin token on the API: %s", resp.Status)
	}
	b := newBrowserClient(t, e.url)
	_, page := b.get("/signin")
	resp, _ := b.post("/signin", url.Values{"csrf": {csrfOf(t, page)}, "key": {tok}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin sign-in: %s", resp.Status)
	}
	if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/accounts" {
		t.Fatalf("admin before picking an account: %s %s", resp.Status, resp.Header.Get("Location"))
	}
	_, accounts := b.get("/accounts")
	m := regexp.MustCompile(`<option value="(\d+)">acme</option>`).FindStringSubmatch(accounts)
	if m == nil || !strings.Contains(accounts, ">other</option>") {
		t.Fatalf("accounts page:\n%s", accounts)
	}
	if resp, _ := b.post("/accounts", url.Values{"csrf": {"x"}, "tenant": {m[1]}}); resp.StatusCode != 403 {
		t.Errorf("pick without CSRF token: %s", resp.Status)
	}
	if resp, _ := b.post("/accounts", url.Values{"csrf": {csrfOf(t, accounts)}, "tenant": {m[1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pick acme: %s", resp.Status)
	}
	_, over := b.get("/")
	if !strings.Contains(over, "x0.evil.test") || strings.Contains(over, "other0.evil.test") || !strings.Contains(over, "(administrator)") {
		t.Errorf("admin looking at acme sees the wrong alerts")
	}
	// An account's key does not make its holder an admin.
	ab := newBrowserClient(t, e.url)
	ab.signIn(acme)
	_, ap := ab.get("/")
	if resp, _ := ab.get("/accounts"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("account key on /accounts: %s", resp.Status)
	}
	if resp, _ := ab.post("/accounts", url.Values{"csrf": {csrfOf(t, ap)}, "tenant": {"2"}}); resp.StatusCode != 404 {
		t.Errorf("account key picking another account: %s", resp.Status)
	}
}

// TestConsoleIndexesInBackground: a database the console sees for the first
// time with many alerts is indexed in the background; pages answer at once
// and say so, and then show everything.
func TestConsoleIndexesInBackground(t *testing.T) {
	e, acme, _ := consoleEnv(t)
	tenant, err := e.store.Authenticate(acme)
	if err != nil {
		t.Fatal(err)
	}
	fillAlerts(t, e.store, tenant.ID, 30000)
	b := newBrowserClient(t, e.url)
	page := b.signIn(acme)
	if !strings.Contains(page, "still being indexed") {
		t.Error("first page does not say older alerts are being indexed")
	}
	deadline := time.Now().Add(60 * time.Second)
	for strings.Contains(page, "still being indexed") && time.Now().Before(deadline) {
		if !strings.Contains(page, "pages show those indexed so far") {
			t.Fatal("notice cut")
		}
		time.Sleep(200 * time.Millisecond)
		_, page = b.get("/threats")
	}
	var n int
	if err := e.store.r.QueryRow(`SELECT count(*) FROM console_alerts WHERE tenant = ?`, tenant.ID).Scan(&n); err != nil || n != 30003 {
		t.Errorf("%d alerts indexed, want 30003 (%v)", n, err)
	}
	if _, body := b.get("/threats"); !strings.Contains(body, `<td class="r">3003</td>`) {
		t.Errorf("catalog counts: c2 should count 3003 alerts")
	}
}
