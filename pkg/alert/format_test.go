package alert

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// demoAlerts are nfr-score's alerts on the demo capture.
func demoAlerts(t testing.TB) [][]byte {
	f, err := os.Open("../score/testdata/demo.alerts.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if len(lines) == 0 {
		t.Fatal("no demo alerts")
	}
	return lines
}

const tricky = `{"type":"alert","v":1,"ts":"2026-11-02T09:01:55.726123456Z","srcIP":"10.0.1.11","srcPort":40056,"destIP":"10.0.0.2","destPort":80,"proto":"tcp","host":"a|b=c.example","url":"http://a|b=c.example/x\\y?q=1","eventType":"http","severity":5,"threats":{"c2":{"title":"C2 | \"beacon\" = bad\\","severity":5,"policy":false},"tor":{"title":"Tor","severity":2,"policy":true}},"reason":"line one\nline two\ttab ] end","id":"inc-7","count":12,"firstSeen":"2026-11-02T08:00:00Z","lastSeen":"2026-11-02T09:01:55Z"}`

func parse(t testing.TB, line string) *Alert {
	var a Alert
	if err := Parse([]byte(line), &a); err != nil {
		t.Fatal(err)
	}
	return &a
}

func TestParseExtras(t *testing.T) {
	a := parse(t, tricky)
	if a.ID != "inc-7" || a.Count != 12 || a.FirstSeen.IsZero() || a.LastSeen.IsZero() {
		t.Fatalf("score v2 fields not read: %+v", a)
	}
	if id, _ := a.Main(); id != "c2" {
		t.Errorf("main threat %q, want the most severe, c2", id)
	}
}

// TestCEFEscaping follows the CEF specification's escaping rules: in the
// header a pipe and a backslash are escaped with a backslash; in extension
// values a backslash and an equals sign are, and line ends become \n, \r;
// a pipe in an extension value stays as it is.
func TestCEFEscaping(t *testing.T) {
	f := &Formatter{Name: "cef", Host: "sensor1", Version: "1.0"}
	got := string(f.Append(nil, parse(t, tricky)))
	for _, want := range []string{
		`CEF:0|AlphaSOC|NFR|1.0|c2|C2 \| "beacon" = bad\\|10|`,
		`request=http://a|b\=c.example/x\\y?q\=1`,
		`msg=line one\nline two` + "\t" + `tab ] end`,
		`src=10.0.1.11 spt=40056 dst=10.0.0.2 dpt=80 proto=TCP`,
		`dvchost=sensor1`, `externalId=inc-7`, `cnt=12`, `rt=1793610115726`,
		`cs1Label=threats cs1=c2,tor`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.ContainsAny(got, "\n\r") {
		t.Errorf("raw line end in %q", got)
	}
	// Every extension key is followed by an unescaped '=' and no value
	// holds one: split on unescaped " key=" boundaries must give the keys.
	ext := got[strings.LastIndex(got, "|10|")+4:]
	keys := regexp.MustCompile(`(?:^| )([A-Za-z0-9]+)=`).FindAllStringSubmatch(ext, -1)
	if len(keys) < 10 {
		t.Errorf("only %d extension keys in %q", len(keys), ext)
	}
	// The header has exactly 7 unescaped pipes.
	if n := len(regexp.MustCompile(`(^|[^\\])(\\\\)*\|`).FindAllString(got[:strings.LastIndex(got, "|10|")+4], -1)); n != 7 {
		t.Errorf("%d unescaped pipes in the CEF header, want 7: %s", n, got)
	}
}

// TestCEFSpecExample checks a plain alert against the shape of the
// specification's example: CEF:Version|Device Vendor|Device
// Product|Device Version|Device Event Class ID|Name|Severity|[Extension].
func TestCEFSpecExample(t *testing.T) {
	a := parse(t, string(demoAlerts(t)[0]))
	got := string((&Formatter{Name: "cef", Version: "1.2"}).Append(nil, a))
	re := regexp.MustCompile(`^CEF:0\|AlphaSOC\|NFR\|1\.2\|dga\|Algorithmically generated domain names \(DGA\)\|8\|rt=\d+ src=10\.0\.1\.11 spt=40056 dst=10\.0\.0\.2 dpt=53 proto=UDP cat=dns dhost=zrgb6yar\.net externalId=[0-9a-f]{16} cnt=1 start=\d+ end=\d+ msg=`)
	if !re.MatchString(got) {
		t.Errorf("got %s", got)
	}
}

func TestLEEF(t *testing.T) {
	f := &Formatter{Name: "leef", Host: "s1", Version: "1.0"}
	got := string(f.Append(nil, parse(t, tricky)))
	if !strings.HasPrefix(got, "LEEF:2.0|AlphaSOC|NFR|1.0|c2|x09|devTime=1793610115726\t") {
		t.Errorf("header: %q", got)
	}
	attrs := strings.Split(got[strings.Index(got, "|x09|")+5:], "\t")
	seen := map[string]string{}
	for _, kv := range attrs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Errorf("attribute without '=': %q", kv)
		}
		seen[k] = v
	}
	if seen["reason"] != `line one\nline two\ttab ] end` || seen["sev"] != "10" || seen["src"] != "10.0.1.11" || seen["dstPort"] != "80" {
		t.Errorf("attributes: %v", seen)
	}
	if strings.ContainsAny(got, "\n\r") {
		t.Errorf("line end in %q", got)
	}
}

var rfc5424 = regexp.MustCompile(`^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z) ([!-~]{1,255}) ([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) (-|\[.*?[^\\]\]) (.*)$`)

func TestSyslog5424(t *testing.T) {
	f := &Formatter{Name: "syslog", Host: "sensor 1", ProcID: "42"}
	a := parse(t, tricky)
	got := string(f.Append(nil, a))
	m := rfc5424.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("not RFC 5424: %s", got)
	}
	if m[1] != "130" { // local0 (16) * 8 + crit (2)
		t.Errorf("PRI %s, want 130", m[1])
	}
	if m[2] != "2026-11-02T09:01:55.726123Z" {
		t.Errorf("TIMESTAMP %s: at most 6 fraction digits", m[2])
	}
	if m[4] != "sensor1" || m[6] != "42" || m[7] != "c2" {
		t.Errorf("HOSTNAME %q PROCID %q MSGID %q", m[4], m[6], m[7])
	}
	if !strings.Contains(m[8], `subject="http://a|b=c.example/x\\y?q=1"`) {
		t.Errorf("SD value not escaped: %s", m[8])
	}
	if !strings.HasPrefix(m[8], `[nfr@32473 severity="5" threat="c2"`) {
		t.Errorf("SD: %s", m[8])
	}
	// The message is the alert line, with its line ends kept visible.
	if m[9] != strings.ReplaceAll(tricky, "\n", `\n`) {
		t.Errorf("MSG is not the alert line: %s", m[9])
	}
	// An SD value with ] " \ is escaped.
	a.Sensor = `x"]\y`
	got = string(f.Append(nil, a))
	if !strings.Contains(got, `sensor="x\"\]\\y"]`) {
		t.Errorf("sensor not escaped: %s", got)
	}
	// Another format over syslog: no SD, the format as MSG.
	c := &Formatter{Name: "cef", Host: "s"}
	got = string(c.AppendSyslog(nil, parse(t, tricky)))
	if m := rfc5424.FindStringSubmatch(got); m == nil || m[8] != "-" || !strings.HasPrefix(m[9], "CEF:0|") {
		t.Errorf("CEF over syslog: %s", got)
	}
}

var rfc3164 = regexp.MustCompile(`^<(\d{1,3})>([A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d) ([!-~]+) nfr(\[\d+\])?: (.*)$`)

func TestSyslog3164(t *testing.T) {
	f := &Formatter{Name: "syslog", Host: "s1", RFC3164: true, Facility: 4}
	for _, line := range demoAlerts(t)[:3] {
		got := string(f.Append(nil, parse(t, string(line))))
		m := rfc3164.FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("not RFC 3164: %s", got)
		}
		if m[1] != "35" || m[5] != string(line) {
			t.Errorf("PRI %s (want 35: auth, err) or message differs: %s", m[1], got)
		}
	}
}

func TestJSONFormats(t *testing.T) {
	for _, name := range []string{"json", "ecs", "gelf"} {
		f := &Formatter{Name: name, Host: "s1"}
		for _, line := range append(demoAlerts(t), []byte(tricky)) {
			out := f.Append(nil, parse(t, string(line)))
			var m map[string]any
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("%s: %v: %s", name, err, out)
			}
			switch name {
			case "json":
				if string(out) != string(line) {
					t.Errorf("json changed the line")
				}
			case "ecs":
				ev := m["event"].(map[string]any)
				if ev["kind"] != "alert" || ev["original"] != string(line) || m["@timestamp"] == nil || m["rule"] == nil || m["related"] == nil {
					t.Errorf("ecs: %s", out)
				}
			case "gelf":
				// GELF 1.1: version, host, short_message required;
				// additional fields start with _ and are never _id.
				if m["version"] != "1.1" || m["host"] != "s1" || m["short_message"] == "" {
					t.Errorf("gelf: %s", out)
				}
				for k := range m {
					if k == "_id" || !regexp.MustCompile(`^[\w.\-]+$`).MatchString(k) {
						t.Errorf("gelf field %q", k)
					}
				}
			}
		}
	}
	m := map[string]any{}
	json.Unmarshal((&Formatter{Name: "ecs"}).Append(nil, parse(t, tricky)), &m)
	if m["event"].(map[string]any)["id"] != "inc-7" || m["url"].(map[string]any)["original"] == nil {
		t.Errorf("ecs score v2 or url fields: %v", m)
	}
}

func TestText(t *testing.T) {
	a := parse(t, tricky)
	a.Reason = "evil \x1b[2J screen"
	got := string((&Formatter{Name: "text"}).Append(nil, a))
	want := "2026-11-02 09:01:55 sev 5 c2 10.0.1.11 -> http://a|b=c.example/x\\y?q=1 (x12): C2 | \"beacon\" = bad\\ - evil \\x1b[2J screen"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	col := string((&Formatter{Name: "text", Color: true}).Append(nil, a))
	if !strings.HasPrefix(col, "\x1b[1;31m") || !strings.HasSuffix(col, "\x1b[0m") {
		t.Errorf("colour: %q", col)
	}
}

func TestRoute(t *testing.T) {
	a := parse(t, tricky) // severity 5, c2 + tor(policy)
	no := false
	for i, c := range []struct {
		r    Route
		want bool
	}{
		{Route{}, true},
		{Route{MinSeverity: 5}, true},
		{Route{MinSeverity: 6}, false},
		{Route{Include: []string{"dga"}}, false},
		{Route{Include: []string{"tor"}}, true},
		{Route{Exclude: []string{"tor"}}, true},
		{Route{Exclude: []string{"tor", "c2"}}, false},
		{Route{Groups: []string{"dmz"}}, false},
		{Route{Policy: &no}, true},
	} {
		if got := c.r.Match(a); got != c.want {
			t.Errorf("%d %v: %v", i, c.r, got)
		}
	}
	a.Groups = []string{"dmz"}
	if !(&Route{Groups: []string{"dmz"}}).Match(a) {
		t.Error("group")
	}
}

func TestWithSensor(t *testing.T) {
	got := string(WithSensor(nil, []byte(`{"type":"alert"}`), "s\"1"))
	if got != `{"type":"alert","sensor":"s\"1"}` {
		t.Error(got)
	}
	if got := string(WithSensor(nil, []byte(`{"type":"alert","sensor":"x"}`), "y")); got != `{"type":"alert","sensor":"x"}` {
		t.Error(got)
	}
}

func BenchmarkFormat(b *testing.B) {
	lines := demoAlerts(b)
	for _, name := range Formats {
		b.Run(name, func(b *testing.B) {
			f := &Formatter{Name: name, Host: "sensor1"}
			var a Alert
			var buf []byte
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := Parse(lines[i%len(lines)], &a); err != nil {
					b.Fatal(err)
				}
				buf = f.AppendSyslog(buf[:0], &a)
			}
		})
	}
}

// BenchmarkFilter runs alerts through the whole filter into two file
// outputs (one routed), queues included.
func BenchmarkFilter(b *testing.B) {
	lines := demoAlerts(b)
	var in []byte
	for i := 0; len(in) < 4<<20; i++ {
		in = append(append(in, lines[i%len(lines)]...), '\n')
	}
	n := bytes.Count(in, []byte("\n"))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		mk := func(name, format string) *Output {
			return &Output{Name: name, Dest: Dest{URL: "file:" + filepath.Join(dir, name)}, Format: Formatter{Name: format},
				QueueDir: filepath.Join(dir, "q", name)}
		}
		pager := mk("pager", "json")
		pager.Route.MinSeverity = 5
		f := &Filter{Outputs: []*Output{mk("cef", "cef"), mk("syslog", "syslog"), pager}, Sensor: "s"}
		if err := f.Start(); err != nil {
			b.Fatal(err)
		}
		if err := f.Run(bytes.NewReader(in), "bench"); err != nil {
			b.Fatal(err)
		}
		if q := f.Drain(time.Minute); q != 0 {
			b.Fatal(q)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "alerts/s")
}

// TestCEFSpecEscapes follows the escaping examples of the ArcSight CEF
// implementation standard: a pipe and a backslash in a header field, an
// equals sign and a backslash in an extension value, a pipe in an
// extension value left alone, and a line end in a value as \n.
func TestCEFSpecEscapes(t *testing.T) {
	for _, c := range []struct{ title, reason, header, ext string }{
		{"detected a | in message", "x", `|detected a \| in message|`, ""},
		{`detected a \ in packet`, "x", `|detected a \\ in packet|`, ""},
		{"t", "blocked a = sign", "", `msg=blocked a \= sign`},
		{"t", `a \ in the reason`, "", `msg=a \\ in the reason`},
		{"t", "blocked a | sign", "", `msg=blocked a | sign`},
		{"t", "Detected a threat.\n No action needed.", "", `msg=Detected a threat.\n No action needed.`},
	} {
		a := parse(t, `{"type":"alert","v":1,"severity":5,"threats":{"x":{"title":"t","severity":5}},"reason":"r"}`)
		a.Threats["x"] = event.Threat{Title: c.title, Severity: 5}
		a.Reason = c.reason
		got := string((&Formatter{Name: "cef"}).Append(nil, a))
		if !strings.Contains(got, c.header) || !strings.Contains(got, c.ext) {
			t.Errorf("%q %q: %s", c.title, c.reason, got)
		}
	}
}
