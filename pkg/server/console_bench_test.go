package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/event"
)

// fillAlerts stores n alerts for tenant straight into the database, as the
// worker would: 1000 sources, 10 threats, three scope groups, a week.
func fillAlerts(tb testing.TB, st *Store, tenant int64, n int) {
	tb.Helper()
	threats := []struct {
		id  string
		sev int
	}{{"c2", 5}, {"dga", 4}, {"imposter", 4}, {"oast", 4}, {"dns_tunnel", 4}, {"cryptomining", 4},
		{"scan_port", 3}, {"beacon", 3}, {"doh", 2}, {"cleartext", 2}}
	groups := [][]string{{"office"}, {"office", "pci"}, {"guest"}}
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	const chunk = 20000
	for done := 0; done < n; {
		tx, err := st.w.Begin()
		if err != nil {
			tb.Fatal(err)
		}
		ins := tx.Stmt(st.insAlert)
		for i := done; i < min(n, done+chunk); i++ {
			th := threats[i%len(threats)]
			ev := event.Event{Type: event.TypeDNS, V: 1, TS: start.Add(time.Duration(float64(i) / float64(n) * float64(7*24*time.Hour))),
				SrcPort: 40000, DestPort: 53, Proto: "udp", QType: "A", RCode: "NXDOMAIN",
				Query: fmt.Sprintf("h%06x.example%d.net", i*7919%0xffffff, i%97), Groups: groups[i%3]}
			ev.SrcIP, _ = event.ParseAddr(fmt.Sprintf("10.%d.%d.%d", i%1000/250, i%250, 1+i%7))
			ev.DestIP, _ = event.ParseAddr("10.0.0.53")
			tj, _ := json.Marshal(map[string]api.ThreatInfo{th.id: {Title: th.id + " title", Severity: th.sev}})
			if _, err := ins.Exec(tenant, start.Unix(), "dns", string(ev.AppendJSON(nil)), string(tj), `["nxdomain"]`, `{}`); err != nil {
				tx.Rollback()
				tb.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
		done = min(n, done+chunk)
	}
}

// BenchmarkConsolePages times each console page over HTTP on a database of
// $NFR_CONSOLE_ALERTS alerts of one account (default 100,000;
// scripts/bench/console.sh runs 1,000,000). The target is 200 ms a page.
func BenchmarkConsolePages(b *testing.B) {
	n := 100000
	if v := os.Getenv("NFR_CONSOLE_ALERTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	st, err := OpenStore(filepath.Join(b.TempDir(), "engine.db"), SyncNormal)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	key, t, err := st.AddKey("big")
	if err != nil {
		b.Fatal(err)
	}
	srv := New(st, func(string) (Scorer, error) { return &testScorer{}, nil }, Config{}) // makes the console's tables
	t0 := time.Now()
	fillAlerts(b, st, t.ID, n)
	for id := int64(1); id <= int64(n); id += 997 { // about 1,000 triaged
		state := "acknowledged"
		if id%2 == 0 {
			state = "closed"
		}
		if _, err := st.SetAlertStatus(t.ID, id, state, "checked", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d alerts stored in %v", n, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	if _, _, err := st.indexConsole(20000, time.Time{}); err != nil {
		b.Fatal(err)
	}
	b.Logf("console index built in %v", time.Since(t0).Round(time.Millisecond))

	go srv.Run()
	defer srv.Close(context.Background())
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ts := hs.URL
	cookie := signInCookie(b, ts, key)
	pages := []string{
		"/", "/alerts", "/alerts?threat=beacon", "/alerts?src=10.2.17.5", "/alerts?severity=5",
		"/alerts?group=pci&severity=4", "/alerts?from=2026-11-25T00:00&to=2026-11-25T01:00",
		"/alerts?status=acknowledged", "/alerts?status=open&severity=4", "/alert/" + strconv.Itoa(n/2), "/host/10.1.100.3", "/threats",
	}
	for _, p := range pages {
		b.Run(url.PathEscape(p), func(b *testing.B) {
			for b.Loop() {
				req, _ := http.NewRequest("GET", ts+p, nil)
				req.AddCookie(cookie)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %s", p, resp.Status)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/page")
		})
	}
}

// signInCookie signs in with key and returns the session cookie.
func signInCookie(tb testing.TB, base, key string) *http.Cookie {
	tb.Helper()
	resp, err := http.Get(base + "/signin")
	if err != nil {
		tb.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindSubmatch(page)
	if m == nil {
		tb.Fatal("no CSRF token on the sign-in page")
	}
	req, _ := http.NewRequest("POST", base+"/signin", strings.NewReader(url.Values{"csrf": {string(m[1])}, "key": {key}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	tb.Fatalf("sign-in: %s, no session cookie", resp.Status)
	return nil
}
