package handshake

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/stream"
)

func u16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

func vec16(b []byte) []byte { return append(u16(uint16(len(b))), b...) }

func ext(typ uint16, data []byte) []byte { return append(u16(typ), vec16(data)...) }

// buildClientHello makes the ClientHello of JA4's specification example,
// with GREASE values added where browsers put them.
func buildClientHello() []byte {
	var b []byte
	b = append(b, 3, 3)
	b = append(b, make([]byte, 32)...) // random
	b = append(b, 0)                   // session id
	var ciphers []byte
	for _, c := range []uint16{0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035} {
		ciphers = append(ciphers, u16(c)...)
	}
	b = append(b, vec16(ciphers)...)
	b = append(b, 1, 0) // compression
	var exts []byte
	exts = append(exts, ext(0x2a2a, nil)...)
	for _, e := range []uint16{0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015} {
		var data []byte
		switch e {
		case 0x0000:
			name := []byte("example.com")
			data = vec16(append([]byte{0}, vec16(name)...))
		case 0x0010:
			data = vec16([]byte{2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'})
		case 0x000d:
			var s []byte
			for _, a := range []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601} {
				s = append(s, u16(a)...)
			}
			data = vec16(s)
		case 0x002b:
			data = []byte{4, 0x3a, 0x3a, 3, 4}
		case 0x000a:
			data = vec16([]byte{0x4a, 0x4a, 0, 0x1d, 0, 0x17})
		case 0x000b:
			data = []byte{1, 0}
		}
		exts = append(exts, ext(e, data)...)
	}
	return append(b, vec16(exts)...)
}

var clientHello = buildClientHello()

var serverHello = func() []byte {
	b := []byte{3, 3}
	b = append(b, make([]byte, 32)...)
	b = append(b, 0)
	b = append(b, u16(0xc02f)...)
	b = append(b, 0)
	var exts []byte
	exts = append(exts, ext(0xff01, []byte{0})...)
	exts = append(exts, ext(0x0000, nil)...)
	exts = append(exts, ext(0x000b, []byte{1, 0})...)
	return append(b, vec16(exts)...)
}()

func TestClientHello(t *testing.T) {
	ch, err := ParseClientHello(clientHello)
	if err != nil {
		t.Fatal(err)
	}
	if ch.SNI != "example.com" || len(ch.ALPN) != 2 || ch.ALPN[0] != "h2" || ch.Offered() != 0x0304 {
		t.Errorf("parsed %+v", ch)
	}
	// The example of FoxIO's JA4 specification.
	if got := ch.JA4('t'); got != "t13d1516h2_8daaf6152771_e5627efa2ab1" {
		t.Errorf("ja4 %s", got)
	}
	if got := ch.JA4('q'); got[0] != 'q' {
		t.Errorf("quic ja4 %s", got)
	}
	raw, _ := ch.JA3()
	want := "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23,0"
	if raw != want {
		t.Errorf("ja3\n got %s\nwant %s", raw, want)
	}
}

func TestServerHello(t *testing.T) {
	sh, err := ParseServerHello(serverHello)
	if err != nil {
		t.Fatal(err)
	}
	raw, hash := sh.JA3S()
	if raw != "771,49199,65281-0-11" || len(hash) != 32 || VersionName(sh.Negotiated()) != "TLSv12" {
		t.Errorf("ja3s %s %s %s", raw, hash, VersionName(sh.Negotiated()))
	}
}

func TestALPNRule(t *testing.T) {
	for _, tc := range []struct{ alpn, want string }{
		{"h2", "h2"}, {"http/1.1", "h1"}, {"x", "xx"}, {"\xab", "ab"}, {"\xab\xcd", "ad"},
		{"0\xab", "3b"}, {"01\xab\xcd", "3d"}, {"0\xab\xcd1", "01"}, {"", "00"},
	} {
		if got := string(appendJA4ALPN(nil, []string{tc.alpn})); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.alpn, got, tc.want)
		}
	}
}

// TestSplitHello feeds a handshake one byte at a time, and in records of
// a few bytes each (a ClientHello split across records).
func TestSplitHello(t *testing.T) {
	hello := append([]byte{1, 0, byte(len(clientHello) >> 8), byte(len(clientHello))}, clientHello...)
	var records []byte
	for i := 0; i < len(hello); i += 5 {
		part := hello[i:min(i+5, len(hello))]
		records = append(records, 22, 3, 1, 0, byte(len(part)))
		records = append(records, part...)
	}
	for _, input := range [][]byte{record(1, clientHello), records} {
		var out []*event.Event
		a := New(Config{}, func(e *event.Event) { c := *e; out = append(out, &c) }) // e is reused
		c := a.Conn(stream.ID{})
		for i := range input {
			c.Data(stream.ClientToServer, input[i:i+1], time.Time{})
		}
		sh := record(2, serverHello)
		c.Data(stream.ServerToClient, sh, time.Time{})
		c.Data(stream.ServerToClient, []byte{20, 3, 3, 0, 1, 1}, time.Time{}) // ChangeCipherSpec: resumed
		if len(out) != 1 || out[0].SNI != "example.com" || out[0].JA4 != "t13d1516h2_8daaf6152771_e5627efa2ab1" || out[0].TLSVersion != "TLSv12" || out[0].JA3S == "" {
			t.Fatalf("events %+v", out)
		}
		c.End(time.Time{})
		if len(out) != 1 {
			t.Errorf("%d events", len(out))
		}
	}
}

func BenchmarkClientHello(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(clientHello)))
	for i := 0; i < b.N; i++ {
		ch, _ := ParseClientHello(clientHello)
		ch.JA3()
		ch.JA4('t')
	}
}

func BenchmarkHandshake(b *testing.B) {
	b.ReportAllocs()
	c, s := record(1, clientHello), record(2, serverHello)
	a := New(Config{}, func(*event.Event) {})
	for i := 0; i < b.N; i++ {
		conn := a.Conn(stream.ID{})
		conn.Data(stream.ClientToServer, c, time.Time{})
		conn.Data(stream.ServerToClient, s, time.Time{})
		conn.End(time.Time{})
	}
}

func TestHeldIsBounded(t *testing.T) {
	a := New(Config{MaxHeld: 1000}, func(*event.Event) {})
	partial := record(1, clientHello)[:100]
	for i := 0; i < 100; i++ {
		c := a.Conn(stream.ID{})
		c.Data(stream.ClientToServer, partial, time.Time{})
		if s := a.Stats(); s.Held > 1000 {
			t.Fatalf("holding %d bytes", s.Held)
		}
	}
	if s := a.Stats(); s.Dropped != 90 {
		t.Errorf("stats %+v", s)
	}
}

// One analyser for connections in turn, with and without a ServerHello:
// the events, hellos and connections it reuses carry nothing over.
func TestAnalyzerReuse(t *testing.T) {
	run := func(a *Analyzer, withServer bool) {
		c := a.Conn(stream.ID{})
		c.Data(stream.ClientToServer, record(1, clientHello), time.Time{})
		if withServer {
			c.Data(stream.ServerToClient, record(2, serverHello), time.Time{})
		}
		c.End(time.Time{})
	}
	var want [2]event.Event
	for i, withServer := range []bool{false, true} {
		var out []event.Event
		run(New(Config{}, func(e *event.Event) { out = append(out, *e) }), withServer)
		if len(out) != 1 {
			t.Fatalf("%d events", len(out))
		}
		want[i] = out[0]
	}
	var out []event.Event
	a := New(Config{}, func(e *event.Event) { c := *e; c.ALPN = slices.Clone(e.ALPN); out = append(out, c) })
	for i := 0; i < 6; i++ {
		out = out[:0]
		run(a, i%2 == 1)
		if len(out) != 1 || !reflect.DeepEqual(out[0], want[i%2]) {
			t.Fatalf("connection %d: %+v\nwant %+v", i, out, want[i%2])
		}
	}
}
