package event

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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

// A nil Arena, as a decoder without one has, copies each string.
func TestArenaStrings(t *testing.T) {
	for _, a := range []*Arena{new(Arena), nil} {
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
				t.Fatalf("arena %v: string %d = %.40q, want %.40q", a != nil, i, s, want)
			}
		}
		if a.String(nil) != "" {
			t.Fatalf("arena %v: empty input gave a non-empty string", a != nil)
		}
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

// TestAppendTime compares AppendTime with time.RFC3339Nano over edges
// (leap days, centuries, the ends of the years 0 and 9999, beyond them)
// and random instants.
func TestAppendTime(t *testing.T) {
	check := func(tm time.Time) {
		t.Helper()
		want := tm.UTC().Format(time.RFC3339Nano)
		if got := string(AppendTime(nil, tm)); got != want {
			t.Fatalf("AppendTime(%d.%09d) = %s, want %s", tm.Unix(), tm.Nanosecond(), got, want)
		}
	}
	for _, y := range []int{0, 1, 4, 99, 100, 400, 1600, 1899, 1900, 1969, 1970, 2000, 2024, 2100, 2106, 2400, 9999} {
		for _, d := range []time.Time{
			time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(y, 2, 28, 23, 59, 59, 999999999, time.UTC),
			time.Date(y, 2, 29, 12, 0, 0, 1, time.UTC), time.Date(y, 3, 1, 0, 0, 0, 100, time.UTC),
			time.Date(y, 12, 31, 23, 59, 59, 120000000, time.UTC),
		} {
			check(d)
			check(d.In(time.FixedZone("x", 5*3600+1800)))
		}
	}
	check(time.Date(-1, 12, 31, 23, 59, 59, 0, time.UTC))
	check(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	check(time.Unix(0, 0))
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200000; i++ {
		check(time.Unix(rng.Int64N(253402300800+62167219200)-62167219200, rng.Int64N(1e9)))
	}
}

func BenchmarkAppendTime(b *testing.B) {
	ts := time.Date(2017, 5, 22, 16, 16, 56, 123456000, time.UTC)
	var buf []byte
	for b.Loop() {
		buf = AppendTime(buf[:0], ts)
	}
}

// quoteReference is what AppendString must write, rune by rune: the
// reference for TestAppendStringWords.
func quoteReference(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1, r < 0x20, r == 0x7f:
			fmt.Fprintf(&sb, `\\x%02x`, s[0])
		case r == '"', r == '\\':
			sb.WriteString(`\` + string(r))
		default:
			sb.WriteString(s[:size])
		}
		s = s[size:]
	}
	sb.WriteByte('"')
	return sb.String()
}

// TestAppendStringWords checks AppendString, and its eight-byte path,
// against quoteReference on strings of every length mixing plain bytes with each kind that
// needs care, at every position.
func TestAppendStringWords(t *testing.T) {
	special := []string{"\x00", "\x1f", " ", "~", "\x7f", "\x80", "\xff", "\"", "\\", "é", "€", "😀", "\xe2\x82", "!", "A"}
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 40; n++ {
		for k := 0; k < 200; k++ {
			var sb strings.Builder
			for sb.Len() < n {
				if rng.IntN(4) == 0 {
					sb.WriteString(special[rng.IntN(len(special))])
				} else {
					sb.WriteByte(byte('a' + rng.IntN(26)))
				}
			}
			s := sb.String()
			if got, want := string(AppendString(nil, s)), quoteReference(s); got != want {
				t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
			}
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	var buf []byte
	for b.Loop() {
		buf = AppendString(buf[:0], "cdn.assets.example.net")
	}
}

// FuzzAppendString checks AppendString against quoteReference on any bytes.
func FuzzAppendString(f *testing.F) {
	f.Add("www.example.com")
	f.Add("caf\xc3\xa9\x00\"\\\x7f\xff-0123456789abcdef")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(AppendString(nil, s)), quoteReference(s); got != want {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}

// appendSeconds writes what strconv's shortest 'f' format writes: every
// microsecond count below a few seconds, a spread of larger ones, and
// values that are not whole microseconds.
func TestAppendSeconds(t *testing.T) {
	check := func(s float64) {
		if got, want := string(appendSeconds(nil, s)), strconv.FormatFloat(s, 'f', -1, 64); got != want {
			t.Fatalf("%v: %q, want %q", s, got, want)
		}
	}
	for us := int64(0); us < 3_000_000; us++ {
		check(float64(us) / 1e6)
		check(time.Duration(us * 1000).Seconds())
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1_000_000; i++ {
		ns := r.Int64N(1 << 50)
		check(time.Duration(ns).Seconds())
		check(time.Duration(ns / 1000 * 1000).Seconds())
		check(r.Float64() * 1e4)
	}
	for _, s := range []float64{0, math.Copysign(0, -1), 1e-7, 0.0000005, 4294967295.999999, 999999999.999999, 1e9, 1 << 32, 1e20, -1, math.Inf(1), math.NaN()} {
		check(s)
	}
}

func BenchmarkAppendSeconds(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 64)
	for i := 0; b.Loop(); i++ {
		buf = appendSeconds(buf[:0], time.Duration(i%5000*1000+16000).Seconds())
	}
}
