package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
)

// demoAlerts is nfr-score's golden output for testdata/demo.pcap.
func demoAlerts(t testing.TB) string {
	return filepath.Join(testenv.Root(t), "pkg", "score", "testdata", "demo.alerts.json")
}

func readSet(t testing.TB, names ...string) (*Set, []string) {
	t.Helper()
	var s Set
	var warns []string
	for _, n := range names {
		f, err := os.Open(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Read(f, filepath.Base(n), func(m string) { warns = append(warns, m) }); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return &s, warns
}

func render(t testing.TB, s *Set) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, Build(s, Options{Generated: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// jqCounts asks jq, a reader independent of ours, how many alerts each
// threat, source and severity has.
func jqCounts(t *testing.T, file, expr string) map[string]int {
	t.Helper()
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatal("jq not installed (scripts/setup.sh installs it)")
	}
	// An incident's updates repeat its id with a higher count: the one
	// with the highest count stands for it, as nfr-event(5) tells readers.
	fold := `(map(select(.id == null)) + (map(select(.id != null)) | group_by(.id) | map(max_by(.count)))) | .[] | `
	out, err := exec.Command("jq", "-s", "-r", fold+expr, file).Output()
	if err != nil {
		t.Fatalf("jq %s: %v", expr, err)
	}
	m := map[string]int{}
	for _, l := range strings.Fields(string(out)) {
		m[l]++
	}
	return m
}

func TestDemoAgreesWithJQ(t *testing.T) {
	file := demoAlerts(t)
	s, warns := readSet(t, file)
	if len(warns) != 0 {
		t.Fatalf("warnings: %q", warns)
	}
	p := Build(s, Options{})
	total := 0
	for _, n := range jqCounts(t, file, `select(.type=="alert") | .srcIP`) {
		total += n
	}
	if p.Total != total || total == 0 {
		t.Fatalf("alerts: %d, jq says %d", p.Total, total)
	}
	got := map[string]int{}
	for _, tc := range p.ByThreat {
		got[tc.ID] = tc.Alerts
	}
	want := jqCounts(t, file, `select(.type=="alert") | .threats | keys[]`)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("by threat:\n got %v\nwant %v", got, want)
	}
	srcs := jqCounts(t, file, `select(.type=="alert") | .srcIP`)
	if p.Sources != len(srcs) {
		t.Errorf("sources: %d, jq says %d", p.Sources, len(srcs))
	}
	for _, h := range p.TopSources {
		if srcs[h.Name] != h.Alerts {
			t.Errorf("source %s: %d alerts, jq says %d", h.Name, h.Alerts, srcs[h.Name])
		}
	}
	sev := jqCounts(t, file, `select(.type=="alert") | .severity`)
	for _, sc := range p.BySeverity {
		if sev[fmt.Sprint(sc.Level)] != sc.Alerts {
			t.Errorf("severity %d: %d, jq says %d", sc.Level, sc.Alerts, sev[fmt.Sprint(sc.Level)])
		}
	}
	t.Logf("%d alerts, %d threats, %d sources agree with jq", p.Total, len(p.ByThreat), p.Sources)
	// firstSeen of the first incident to lastSeen of the last (jq: 09:01:55.726 to 09:32:12.427)
	if p.Span != "30 min 16 s" {
		t.Errorf("span %q", p.Span)
	}
	// The timeline's bars add up to the alerts.
	sum := 0
	for _, m := range regexp.MustCompile(`<title>[^<]*: (\d+) alerts?,`).FindAllStringSubmatch(string(p.Timeline), -1) {
		var n int
		fmt.Sscan(m[1], &n)
		sum += n
	}
	if sum != p.Total {
		t.Errorf("timeline bars hold %d alerts, want %d", sum, p.Total)
	}
}

// TestSelfContained checks that the page loads nothing and that the CSP
// allows exactly the inline style and script it carries.
func TestSelfContained(t *testing.T) {
	s, _ := readSet(t, demoAlerts(t))
	page := render(t, s)
	page = strings.Replace(page, `<link rel="icon" href="data:,">`, "", 1) // keeps browsers from asking for /favicon.ico
	for _, re := range []string{`(?i)\s(src|href|action|xlink:href)=`, `(?i)url\(`, `(?i)@import`, `(?i)https?://`} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("page references something outside itself: %q", m)
		}
	}
	scripts := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(page, -1)
	styles := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(page, -1)
	if len(scripts) != 1 || len(styles) != 1 {
		t.Fatalf("%d scripts, %d styles; want one of each", len(scripts), len(styles))
	}
	csp := regexp.MustCompile(`http-equiv="Content-Security-Policy" content="([^"]*)"`).FindStringSubmatch(page)
	if csp == nil {
		t.Fatal("no CSP meta tag")
	}
	csp[1] = html.UnescapeString(csp[1])
	for _, body := range []string{scripts[0][1], styles[0][1]} {
		h := sha256.Sum256([]byte(body))
		if want := "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"; !strings.Contains(csp[1], want) {
			t.Errorf("CSP %q lacks %s", csp[1], want)
		}
	}
	for _, d := range []string{"default-src 'none'", "base-uri 'none'", "form-action 'none'"} {
		if !strings.Contains(csp[1], d) {
			t.Errorf("CSP lacks %q", d)
		}
	}
	if strings.Contains(csp[1], "unsafe") {
		t.Errorf("CSP allows unsafe sources: %q", csp[1])
	}
	if strings.Contains(page, ` style="`) || regexp.MustCompile(`(?i)\son[a-z]+=`).MatchString(page) {
		t.Error("page has inline style or event handler attributes, which the CSP blocks")
	}
}

func TestEscapesEveryField(t *testing.T) {
	s, warns := readSet(t, filepath.Join("testdata", "xss.alerts.json"))
	if len(warns) != 0 || len(s.Alerts) != 8 {
		t.Fatalf("%d alerts, warnings %q", len(s.Alerts), warns)
	}
	page := render(t, s)
	for _, bad := range []string{"<script>window", "<img src", "<svg onload", "<iframe", "<b id=injected>", "onerror=\"", "' onmouseover='"} {
		if strings.Contains(page, bad) {
			i := strings.Index(page, bad)
			t.Errorf("unescaped %q: ...%s...", bad, page[max(0, i-80):min(len(page), i+80)])
		}
	}
	if n := strings.Count(page, "&lt;script&gt;window.__xss=1&lt;/script&gt;"); n < 10 {
		t.Errorf("payload shown escaped %d times, want it in every field", n)
	}
}

func TestMixedInput(t *testing.T) {
	s, warns := readSet(t, filepath.Join("testdata", "mixed.alerts.json"))
	want := []string{
		"mixed.alerts.json:3: not a JSON object",
		`mixed.alerts.json:5: field "srcIP": bad address "999.1.1.1"`,
	}
	if fmt.Sprint(warns) != fmt.Sprint(want) {
		t.Errorf("warnings:\n got %q\nwant %q", warns, want)
	}
	if s.Skipped != 2 || len(s.Alerts) != 2 || s.Events["dns"] != 1 || s.Lines != 4 {
		t.Fatalf("skipped %d, alerts %d, events %v, lines %d", s.Skipped, len(s.Alerts), s.Events, s.Lines)
	}
	a := s.Alerts[0]
	if a.ID != "inc-7f3a" || a.Count != 42 || a.FirstSeen.Format(time.RFC3339) != "2026-11-02T10:00:00Z" ||
		a.LastSeen.Format(time.RFC3339Nano) != "2026-11-02T10:20:00.5Z" || a.Indicator != "aGVsbG8.t.example.net" {
		t.Errorf("incident fields: %+v", a)
	}
	if b := s.Alerts[1]; b.TS.UnixMilli() != 1793614860250 || b.Indicator != "x.example.org" || b.SrcIP != "2001:db8::5" {
		t.Errorf("epoch ts or IPv6: %+v", b)
	}
	p := Build(s, Options{})
	if !p.HasIncidents || p.Events != 43 {
		t.Errorf("incidents %v, events %d", p.HasIncidents, p.Events)
	}
	page := render(t, s)
	for _, w := range []string{">Count</button>", ">inc-7f3a</dd>", "2 bad lines skipped", "1 dns", ">qtype</dt>"} {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func TestEmpty(t *testing.T) {
	var s Set
	if err := s.Read(strings.NewReader(""), "-", nil); err != nil {
		t.Fatal(err)
	}
	page := render(t, &s)
	if !strings.Contains(page, "No alerts") {
		t.Error("empty report does not say so")
	}
}

func TestBinStep(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want time.Duration
	}{
		{0, time.Second}, {30 * time.Minute, 30 * time.Second}, {24 * time.Hour, 30 * time.Minute},
		{7 * 24 * time.Hour, 3 * time.Hour}, {3 * 365 * 24 * time.Hour, 28 * 24 * time.Hour},
	} {
		if got := binStep(c.d); got != c.want {
			t.Errorf("binStep(%v) = %v, want %v", c.d, got, c.want)
		}
		if c.d/binStep(c.d) >= maxBins {
			t.Errorf("binStep(%v): too many bins", c.d)
		}
	}
}

func FuzzDecode(f *testing.F) {
	data, _ := os.ReadFile(filepath.Join("testdata", "xss.alerts.json"))
	for _, l := range bytes.Split(data, []byte("\n")) {
		f.Add(l)
	}
	more, _ := os.ReadFile(filepath.Join("testdata", "mixed.alerts.json"))
	for _, l := range bytes.Split(more, []byte("\n")) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var s Set
		if err := s.Read(bytes.NewReader(line), "fuzz", nil); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := Write(&b, Build(&s, Options{})); err != nil {
			t.Fatal(err)
		}
	})
}

// manyAlerts makes n alerts over a day from the demo's, shifted in time.
func manyAlerts(b testing.TB, n int) []byte {
	s, _ := readSet(b, demoAlerts(b))
	lines, _ := os.ReadFile(demoAlerts(b))
	ls := bytes.Split(bytes.TrimSpace(lines), []byte("\n"))
	var out bytes.Buffer
	for i := 0; i < n; i++ {
		l := ls[i%len(ls)]
		ts := s.Alerts[i%len(ls)].TS.Add(time.Duration(i/len(ls)) * 40 * time.Second).Format(time.RFC3339Nano)
		out.Write(regexp.MustCompile(`"ts":"[^"]*"`).ReplaceAll(l, []byte(`"ts":"`+ts+`"`)))
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// BenchmarkReport reads, summarises and renders 10,000 alerts.
func BenchmarkReport(b *testing.B) {
	data := manyAlerts(b, 10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var size int
	for b.Loop() {
		var s Set
		if err := s.Read(bytes.NewReader(data), "-", nil); err != nil {
			b.Fatal(err)
		}
		var w bytes.Buffer
		if err := Write(&w, Build(&s, Options{})); err != nil {
			b.Fatal(err)
		}
		size = w.Len()
	}
	b.ReportMetric(float64(size)/10000, "page-bytes/alert")
}

func TestThreatOrder(t *testing.T) {
	s, _ := readSet(t, demoAlerts(t))
	p := Build(s, Options{})
	if !sort.SliceIsSorted(p.ByThreat, func(i, j int) bool { return p.ByThreat[i].Alerts > p.ByThreat[j].Alerts }) {
		t.Error("threats not by count")
	}
}
