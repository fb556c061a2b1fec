package event

import (
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	ts := time.Date(2017, 5, 22, 16, 16, 56, 123456000, time.UTC)
	tests := []Event{
		{Type: TypeDNS, V: 1, TS: ts, SrcIP: netip.MustParseAddr("10.0.0.1"), SrcPort: 5353,
			DestIP: netip.MustParseAddr("8.8.8.8"), DestPort: 53, Proto: "udp", Query: "example.com",
			QType: "A", RCode: "NOERROR", Answers: []string{"1.2.3.4"}, TTLs: []uint32{300}, Groups: []string{"default"}},
		{Type: TypeIP, V: 1, TS: ts, SrcIP: netip.MustParseAddr("2001:db8::1"), SrcPort: 1,
			DestIP: netip.MustParseAddr("2001:db8::2"), DestPort: 443, Proto: "tcp", BytesIn: 10, BytesOut: 20,
			PktsIn: 1, PktsOut: 2, Duration: 1.5, ConnState: "SF"},
		{Type: TypeTLS, V: 1, TS: ts, SNI: "a.b", TLSVersion: "TLSv13", ALPN: []string{"h2"}, JA3: "x",
			ValidFrom: ts, ValidTo: ts.Add(time.Hour)},
		{Type: TypeAlert, V: 1, TS: ts, EventType: TypeDNS, Severity: 4, Query: "x.y",
			Threats: map[string]Threat{"c2": {Title: "C2", Severity: 4}}, Flags: []string{"a"}, Reason: "r \"q\""},
	}
	for _, e := range tests {
		line := e.AppendJSON(nil)
		var got Event
		if err := Unmarshal(line, &got); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", line, got, e)
		}
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"tab\there", `"tab\\x09here"`},
		{"bad\xffutf8", `"bad\\xffutf8"`},
		{"ünïcode", `"ünïcode"`},
		{`q"b\`, `"q\"b\\"`},
		{"\x7f", `"\\x7f"`},
		{"a\x00b\"", `"a\\x00b\""`},
	}
	for _, tt := range tests {
		if got := string(AppendString(nil, tt.in)); got != tt.want {
			t.Errorf("AppendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestReader(t *testing.T) {
	long := "{" + strings.Repeat("x", MaxLine+10) + "}"
	in := "{\"type\":\"dns\"}\r\n\n  \nnot json\n" + long + "\n{\"type\":\"ip\"}"
	var warns []string
	r := NewReader(strings.NewReader(in), "f.json")
	r.Warn = func(m string) { warns = append(warns, m) }
	var got []string
	for {
		line, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(line))
	}
	want := []string{`{"type":"dns"}`, `{"type":"ip"}`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
	wantWarn := []string{"f.json:4: not a JSON object", "f.json:5: line longer than 1048576 bytes"}
	if !reflect.DeepEqual(warns, wantWarn) {
		t.Errorf("warnings = %q, want %q", warns, wantWarn)
	}
	if r.Skipped() != 2 {
		t.Errorf("skipped = %d", r.Skipped())
	}
}

func TestSetField(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"type":"dns","x":{"groups":1}}`, `{"type":"dns","x":{"groups":1},"groups":["a"]}`},
		{`{"type":"dns","groups":["old"],"y":2}`, `{"type":"dns","groups":["a"],"y":2}`},
		{`{}`, `{"groups":["a"]}`},
		{`{"s":"}\"groups\":"}`, `{"s":"}\"groups\":","groups":["a"]}`},
	}
	for _, tt := range tests {
		if got := string(SetField(nil, []byte(tt.in), "groups", []byte(`["a"]`))); got != tt.want {
			t.Errorf("SetField(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseEpoch(t *testing.T) {
	s, ns, err := ParseEpoch("1495469816.123456")
	if err != nil || s != 1495469816 || ns != 123456000 {
		t.Errorf("got %d %d %v", s, ns, err)
	}
	var e Event
	if err := Unmarshal([]byte(`{"type":"dns","ts":1495469816.000001}`), &e); err != nil || e.TS.Nanosecond() != 1000 {
		t.Errorf("epoch ts: %v %v", e.TS, err)
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(`{"type":"dns","ts":"2017-05-22T16:16:56.123456Z","srcIP":"10.0.0.1","answers":["a"],"ttls":[1]}`))
	f.Add([]byte(`{"threats":{"a":{"title":"t"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Event
		if Unmarshal(b, &e) == nil {
			line := e.AppendJSON(nil)
			var e2 Event
			if err := Unmarshal(line, &e2); err != nil {
				t.Fatalf("re-decode of %s: %v", line, err)
			}
		}
	})
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("{}\n\r\nx\n{\"a\":1}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(strings.NewReader(string(b)), "f")
		for {
			if _, err := r.Next(); err != nil {
				return
			}
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	e := Event{Type: TypeDNS, TS: time.Now(), SrcIP: netip.MustParseAddr("10.0.0.1"), SrcPort: 5353,
		DestIP: netip.MustParseAddr("8.8.8.8"), DestPort: 53, Proto: "udp", Query: "www.example.com", QType: "A",
		RCode: "NOERROR", Answers: []string{"1.2.3.4"}, TTLs: []uint32{300}}
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = e.AppendJSON(buf[:0])
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	line := []byte(`{"type":"dns","v":1,"ts":"2017-05-22T16:16:56.123456Z","srcIP":"10.0.0.1","srcPort":5353,"destIP":"8.8.8.8","destPort":53,"proto":"udp","query":"www.example.com","qtype":"A","rcode":"NOERROR","answers":["1.2.3.4"],"ttls":[300]}`)
	var e Event
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := Unmarshal(line, &e); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseAddr(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"10.0.0.1", "10.0.0.1"}, {"::ffff:10.0.0.1", "10.0.0.1"}, {"2001:db8::1", "2001:db8::1"},
		{"255.255.255.255", "255.255.255.255"}, {"256.0.0.1", ""}, {"1.2.3", ""}, {"1.2.3.4.5", ""}, {"", ""},
	} {
		a, err := ParseAddr(tt.in)
		if (err != nil) != (tt.want == "") || (err == nil && a.String() != tt.want) {
			t.Errorf("ParseAddr(%q) = %v, %v; want %q", tt.in, a, err, tt.want)
		}
		b, errb := ParseAddr([]byte(tt.in))
		if a != b || (err == nil) != (errb == nil) {
			t.Errorf("ParseAddr([]byte(%q)) = %v, %v, differs from the string form", tt.in, b, errb)
		}
	}
}

func TestParseAddrLeadingZeros(t *testing.T) {
	// netip reads no leading zeros (elsewhere they are octal); neither does
	// the fast path.
	for _, in := range []string{"01.2.3.4", "1.02.3.4", "010.0.0.1"} {
		if a, err := ParseAddr(in); err == nil {
			t.Errorf("ParseAddr(%q) = %v, want an error", in, a)
		}
	}
	if a, err := ParseAddr("0.0.0.0"); err != nil || a.String() != "0.0.0.0" {
		t.Errorf("ParseAddr(0.0.0.0) = %v, %v", a, err)
	}
}

func TestArenaStrings(t *testing.T) {
	var a Arena
	var got []string
	b := make([]byte, 0, 8<<10)
	for i := 0; i < 5000; i++ {
		b = append(b[:0], fmt.Sprintf("name-%d.example.com", i)...)
		if i%1000 == 0 {
			b = append(b, make([]byte, 5000)...) // past the arena's limit: a plain copy
		}
		got = append(got, a.String(b))
		clear(b) // the caller reuses its bytes
	}
	for i, s := range got {
		want := fmt.Sprintf("name-%d.example.com", i)
		if i%1000 == 0 {
			want += string(make([]byte, 5000))
		}
		if s != want {
			t.Fatalf("string %d = %.40q, want %.40q", i, s, want)
		}
	}
	if a.String(nil) != "" {
		t.Fatal("empty input gave a non-empty string")
	}
}

func BenchmarkArenaString(b *testing.B) {
	var a Arena
	name := []byte("www.example.com")
	b.ReportAllocs()
	for b.Loop() {
		_ = a.String(name)
	}
}
