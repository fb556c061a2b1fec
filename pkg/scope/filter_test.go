package scope

import (
	"bytes"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/pkg/event"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const testScope = `
groups:
  office:
    label: Office
    in_scope: [10.0.0.0/8, 2001:db8::/32]
    out_scope: [10.0.0.53]
    trusted_domains: ["*.corp.example", "intranet"]
    trusted_ips: [10.0.0.0/8, 192.0.2.0/24]
  pci:
    networks: [10.20.0.0/16]
    exclude:
      domains: ["*.payments.example.com"]
  lab:
    in_scope: [172.16.0.0/12]
`

func mustParse(t testing.TB, s string) *Scope {
	t.Helper()
	sc, err := Parse([]byte(s), "test.yml")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestLine(t *testing.T) {
	f := NewFilter(mustParse(t, testScope))
	tests := []struct {
		in   string
		want string // output line; "" when dropped
		v    Verdict
	}{
		{`{"type":"dns","srcIP":"10.1.1.1","destIP":"10.0.0.53","query":"example.com"}`,
			`{"type":"dns","srcIP":"10.1.1.1","destIP":"10.0.0.53","query":"example.com","groups":["office"]}`, Keep},
		// several covering groups, sorted; an existing groups value is replaced
		{`{"type":"dns","groups":["old"],"srcIP":"10.20.0.9","query":"x.org" , "n":[1,{"a":"}"}]}`,
			`{"type":"dns","groups":["office","pci"],"srcIP":"10.20.0.9","query":"x.org" , "n":[1,{"a":"}"}]}`, Keep},
		{`{"type":"dns","srcIP":"8.8.8.8","query":"example.com"}`, "", OutOfScope},
		{`{"type":"dns","srcIP":"10.0.0.53","query":"example.com"}`, "", Excluded},
		{`{"type":"dns","srcIP":"10.1.1.1","query":"WWW.Corp.Example."}`, "", TrustedDomain},
		{`{"type":"dns","srcIP":"10.1.1.1","query":"corp.example"}`, "", TrustedDomain},
		{`{"type":"dns","srcIP":"10.1.1.1","query":"intranet"}`, "", TrustedDomain},
		{`{"type":"dns","srcIP":"10.1.1.1","query":"www.intranet"}`,
			`{"type":"dns","srcIP":"10.1.1.1","query":"www.intranet","groups":["office"]}`, Keep},
		// a name trusted by a group that does not cover the source is kept
		{`{"type":"dns","srcIP":"10.1.1.1","query":"pay.payments.example.com"}`,
			`{"type":"dns","srcIP":"10.1.1.1","query":"pay.payments.example.com","groups":["office"]}`, Keep},
		// ... but one covering group trusting it is enough to drop it
		{`{"type":"dns","srcIP":"10.20.1.1","query":"pay.payments.example.com"}`, "", TrustedDomain},
		// trusted_ips do not apply to dns (the destination is the resolver)
		{`{"type":"dns","srcIP":"10.1.1.1","destIP":"192.0.2.1","query":"a.b"}`,
			`{"type":"dns","srcIP":"10.1.1.1","destIP":"192.0.2.1","query":"a.b","groups":["office"]}`, Keep},
		{`{"type":"ip","srcIP":"10.1.1.1","destIP":"192.0.2.1"}`, "", TrustedIP},
		{`{"type":"ip","srcIP":"10.1.1.1","destIP":"::ffff:192.0.2.1"}`, "", TrustedIP},
		{`{"type":"ip","srcIP":"10.1.1.1","destIP":"198.51.100.1"}`,
			`{"type":"ip","srcIP":"10.1.1.1","destIP":"198.51.100.1","groups":["office"]}`, Keep},
		{`{"type":"ip","srcIP":"172.16.1.1","destIP":"192.0.2.1"}`,
			`{"type":"ip","srcIP":"172.16.1.1","destIP":"192.0.2.1","groups":["lab"]}`, Keep},
		// ssh is kept by source and dropped for a trusted destination, as ip
		{`{"type":"ssh","srcIP":"10.1.1.1","destIP":"192.0.2.1","clientVersion":"SSH-2.0-x"}`, "", TrustedIP},
		{`{"type":"ssh","srcIP":"10.1.1.1","destIP":"198.51.100.1","clientVersion":"SSH-2.0-x"}`,
			`{"type":"ssh","srcIP":"10.1.1.1","destIP":"198.51.100.1","clientVersion":"SSH-2.0-x","groups":["office"]}`, Keep},
		{`{"type":"ssh","srcIP":"192.168.99.1","destIP":"198.51.100.1"}`, "", OutOfScope},
		{`{"type":"http","srcIP":"10.1.1.1","destIP":"198.51.100.1","host":"Intranet:8080"}`, "", TrustedDomain},
		{`{"type":"http","srcIP":"10.1.1.1","destIP":"198.51.100.1","host":"[2001:db8::1]:80"}`,
			`{"type":"http","srcIP":"10.1.1.1","destIP":"198.51.100.1","host":"[2001:db8::1]:80","groups":["office"]}`, Keep},
		{`{"type":"tls","srcIP":"2001:db8::5","destIP":"2001:4860::1","sni":"x.corp.example"}`, "", TrustedDomain},
		{`{"type":"tls","srcIP":"2001:db8::5","destIP":"2001:4860::1","sni":"x.example"}`,
			`{"type":"tls","srcIP":"2001:db8::5","destIP":"2001:4860::1","sni":"x.example","groups":["office"]}`, Keep},
		// escapes in names and addresses are decoded before matching
		{`{"type":"dns","srcIP":"10.1.1.\u0031","query":"a.\u0043orp.example"}`, "", TrustedDomain},
		{`{"type":"dns","query":"example.com"}`, "", NoSource},
		{`{"type":"dns","srcIP":null,"query":"example.com"}`, "", NoSource},
		{`{"type":"alert","srcIP":"8.8.8.8","query":"x"}`, `{"type":"alert","srcIP":"8.8.8.8","query":"x"}`, Pass},
		{`{"type":"flow2","srcIP":"bogus"}`, `{"type":"flow2","srcIP":"bogus"}`, Pass},
		{` { "type" : "dns" , "srcIP" : "10.1.1.1" } `, ` { "type" : "dns" , "srcIP" : "10.1.1.1" ,"groups":["office"]} `, Keep},
	}
	for _, tt := range tests {
		out, v, err := f.Line([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if v != tt.v || string(out) != tt.want {
			t.Errorf("%s:\n got %s %s\nwant %s %s", tt.in, v, out, tt.v, tt.want)
		}
	}
}

func TestLineBad(t *testing.T) {
	f := NewFilter(mustParse(t, testScope))
	for _, in := range []string{
		`{}`,
		`{"srcIP":"10.1.1.1"}`,
		`{"type":1}`,
		`{"type":"dns","srcIP":"10.1.1"}`,
		`{"type":"dns","srcIP":"10.1.1.1","query":5}`,
		`{"type":"dns","srcIP":"10.1.1.1"`,
		`{"type":"dns" "srcIP":"10.1.1.1"}`,
		`{"type":"dns","srcIP":"10.1.1.1"}x`,
		`{"type":"dns","srcIP:"10.1.1.1"}`,
		`{"type":"dns","x":[1,2}`,
		`{"type":"dns","srcIP":"10.1.1.1","query":"\u12"}`,
		`{"type":"ip","srcIP":"10.1.1.1","destIP":"nope"}`,
	} {
		if out, v, err := f.Line([]byte(in)); err == nil {
			t.Errorf("%s: no error, got %s %s", in, v, out)
		}
	}
}

// TestGolden runs testdata/events.ndjson through testdata/scope.yml.
// -update rewrites testdata/events.golden; the jq test below checks the
// same selection independently.
func TestGolden(t *testing.T) {
	sc, err := Load("testdata/scope.yml")
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.ReadFile("testdata/events.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "events.golden")
	// Several read sizes (the reader must not care where the chunks end,
	// which also cuts batches in different places) and worker counts.
	for i, chunk := range []int{1, 7, 4096, 1 << 20} {
		var out bytes.Buffer
		w := event.NewWriter(&out, false)
		f := NewFilter(sc)
		f.Workers = 1 + i%3
		var warns []string
		f.Warn = func(m string) { warns = append(warns, m) }
		if err := f.Run(&chunkReader{in, chunk}, "events.ndjson", w); err != nil {
			t.Fatal(err)
		}
		w.Close()
		got := out.String() + "# stats: " + f.Stats().String() + "\n# warnings:\n# " + strings.Join(warns, "\n# ") + "\n"
		if *update && chunk == 1 {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("chunk %d: output differs from %s (run go test -update):\n%s", chunk, golden, got)
		}
	}
}

type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := min(r.n, len(p), len(r.b))
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}

// TestAgainstJQ checks the golden selection against testdata/scope.jq, the
// same scope written independently as a jq program (jq is the tool users
// would otherwise reach for). Both outputs are compared as sorted-key JSON.
func TestAgainstJQ(t *testing.T) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		t.Fatal("jq is needed for this reference test (scripts/setup.sh installs it)")
	}
	ref, err := exec.Command(jq, "-R", "-c", "-S", "-f", "testdata/scope.jq", "testdata/events.ndjson").Output()
	if err != nil {
		t.Fatalf("jq: %v", err)
	}
	golden, err := os.ReadFile("testdata/events.golden")
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, l := range strings.Split(string(golden), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		cmd := exec.Command(jq, "-c", "-S", ".")
		cmd.Stdin = strings.NewReader(l)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("jq on our line %s: %v", l, err)
		}
		ours = append(ours, strings.TrimSpace(string(out)))
	}
	refs := strings.Split(strings.TrimSpace(string(ref)), "\n")
	if strings.Join(refs, "\n") != strings.Join(ours, "\n") {
		t.Errorf("jq reference (%d lines):\n%s\nours (%d lines):\n%s", len(refs), strings.Join(refs, "\n"), len(ours), strings.Join(ours, "\n"))
	}
}

func TestScan(t *testing.T) {
	var f fields
	line := []byte(`{"a":{"type":"x"},"type":"dns","b":[1,"]",{"c":null}],"srcIP":"1.2.3.4","n":-1.5e3,"t":true,"query":"a\"b","groups":[ "x" ] }`)
	if err := f.scan(line, false); err != nil {
		t.Fatal(err)
	}
	get := func(s span) string { return string(line[s.start:s.end]) }
	if get(f.typ) != "dns" || get(f.src) != "1.2.3.4" || get(f.query) != `a\"b` || !f.query.escaped || get(f.groups) != `[ "x" ]` || f.end != len(line)-1 {
		t.Errorf("scan = %+v", f)
	}
	if b, err := f.query.str(line, nil); err != nil || string(b) != `a"b` {
		t.Errorf("query = %q, %v", b, err)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`a\u0041\n\/\\`:    "aA\n/\\",
		`\ud83d\ude00x`:    "😀x",
		`\\x00`:            `\x00`,
		`\u00e9`:           "é",
		`\ud83d`:           "\uFFFD",
		`plain`:            "plain",
		`\"quoted\"`:       `"quoted"`,
		`\b\f\r\t`:         "\b\f\r\t",
		`\u0031\u0030.1.1`: "10.1.1",
	} {
		got, err := event.AppendUnquoted(nil, []byte(in))
		if err != nil || string(got) != want {
			t.Errorf("unescape(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`\`, `\q`, `\u12`, `\u12g4`} {
		if _, err := event.AppendUnquoted(nil, []byte(in)); err == nil {
			t.Errorf("unescape(%s): no error", in)
		}
	}
}

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3.4": "1.2.3.4", "255.255.255.255": "255.255.255.255", "0.0.0.0": "0.0.0.0",
		"::ffff:1.2.3.4": "1.2.3.4", "2001:db8::1": "2001:db8::1", "fe80::1%eth0": "fe80::1%eth0",
	} {
		a, err := event.ParseAddr([]byte(in))
		if err != nil || a.String() != want {
			t.Errorf("parseAddr(%s) = %v, %v", in, a, err)
		}
	}
	for _, in := range []string{"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "a.b.c.d", "1.2.3.4 "} {
		if a, err := event.ParseAddr([]byte(in)); err == nil {
			t.Errorf("parseAddr(%q) = %v, want an error", in, a)
		}
	}
}
