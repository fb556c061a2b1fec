package dns

import (
	"encoding/binary"
	"strings"
	"testing"
)

// build assembles a message: header counts from the sections given, then
// the raw section bytes.
func build(id, flags uint16, qd, an, ns, ar int, body ...[]byte) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b, id)
	binary.BigEndian.PutUint16(b[2:], flags)
	binary.BigEndian.PutUint16(b[4:], uint16(qd))
	binary.BigEndian.PutUint16(b[6:], uint16(an))
	binary.BigEndian.PutUint16(b[8:], uint16(ns))
	binary.BigEndian.PutUint16(b[10:], uint16(ar))
	for _, x := range body {
		b = append(b, x...)
	}
	return b
}

func name(s string) []byte {
	var b []byte
	for _, l := range strings.Split(s, ".") {
		if l == "" {
			continue
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func rr(owner []byte, typ uint16, ttl uint32, rdata []byte) []byte {
	b := append([]byte(nil), owner...)
	b = append(b, u16(typ)...)
	b = append(b, u16(1)...)
	b = append(b, u32(ttl)...)
	b = append(b, u16(uint16(len(rdata)))...)
	return append(b, rdata...)
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

var ptr12 = []byte{0xc0, 12} // the question name

func TestAnswers(t *testing.T) {
	q := cat(name("Example.COM"), u16(1), u16(1))
	for _, c := range []struct {
		name string
		typ  uint16
		rd   []byte
		want string // "" means no text (left out)
	}{
		{"A", TypeA, []byte{192, 0, 2, 1}, "192.0.2.1"},
		{"A bad length", TypeA, []byte{192, 0, 2}, ""},
		{"AAAA", TypeAAAA, []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "2001:db8::1"},
		{"CNAME compressed", TypeCNAME, cat([]byte{3, 'W', 'w', 'W'}, ptr12), "www.example.com"},
		{"MX", TypeMX, cat(u16(10), name("mx.example.com")), "mx.example.com"},
		{"SRV", TypeSRV, cat(u16(0), u16(5), u16(5060), name("sip.example.com")), "sip.example.com"},
		{"SOA", TypeSOA, cat(name("ns1.example.com"), name("hostmaster.example.com"), make([]byte, 20)), "ns1.example.com"},
		{"TXT two strings", TypeTXT, cat([]byte{3}, []byte("abc"), []byte{2}, []byte("de")), "TXT 3 abc TXT 2 de"},
		{"TXT empty", TypeTXT, nil, ""},
		{"SPF", TypeSPF, cat([]byte{6}, []byte("v=spf1")), "SPF 6 v=spf1"},
		{"NAPTR", TypeNAPTR, cat(u16(100), u16(10), []byte{1, 's'}, []byte{8}, []byte("SIPS+D2T"), []byte{0}, name("_sips._tcp.example.com")), "NAPTR 100 10 s SIPS+D2T _sips._tcp.example.com"},
		{"DS", TypeDS, cat(u16(1234), []byte{8, 2}, make([]byte, 32)), "DS 8 2"},
		{"DNSKEY", TypeDNSKEY, cat(u16(257), []byte{3, 13}, make([]byte, 64)), "DNSKEY 13"},
		{"RRSIG", TypeRRSIG, cat(u16(1), []byte{13, 2}, u32(300), u32(0), u32(0), u16(1), name("example.com"), make([]byte, 64)), "RRSIG 1 example.com"},
		{"RRSIG root", TypeRRSIG, cat(u16(2), []byte{8, 0}, u32(300), u32(0), u32(0), u16(1), []byte{0}), "RRSIG 2 <Root>"},
		{"SSHFP", TypeSSHFP, []byte{1, 1, 0xab, 0xcd}, "SSHFP: abcd"},
		{"CAA", TypeCAA, cat([]byte{0, 5}, []byte("issue"), []byte("ca.example")), "CAA 0 issue ca.example"},
		{"HTTPS", TypeHTTPS, cat(u16(1), []byte{0}, u16(1), u16(6), []byte{2, 'h', '2', 2, 'h', '3'}, u16(4), u16(4), []byte{192, 0, 2, 7}), "HTTPS 1 . alpn=h2,h3 ipv4hint=192.0.2.7"},
		{"HINFO", TypeHINFO, []byte{3, 'x', '8', '6', 5, 'L', 'i', 'n', 'u', 'x'}, "HINFO x86 Linux"},
		{"WKS", TypeWKS, []byte{192, 0, 2, 1, 6, 0}, ""},
		{"unknown", 4321, []byte{1, 2}, "<unknown type=4321>"},
		{"BIND signing", TypeBINDS, []byte{1, 2, 3}, "BIND9 signing signal"},
		{"pointer loop in rdata", TypeCNAME, []byte{0xc0, 0xff}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := build(7, 0x8180, 1, 1, 0, 0, q, rr(ptr12, c.typ, 60, c.rd))
			// A pointer to itself: rewrite the placeholder to point at the rdata.
			if c.name == "pointer loop in rdata" {
				binary.BigEndian.PutUint16(msg[len(msg)-2:], 0xc000|uint16(len(msg)-2))
			}
			var m Message
			if err := m.Parse(msg); err != nil {
				t.Fatal(err)
			}
			got, ok := m.AppendAnswer(nil, 0)
			if c.want == "" {
				if ok {
					t.Errorf("got %q, want no text", got)
				}
				return
			}
			if !ok || string(got) != c.want {
				t.Errorf("got %q (ok %v), want %q", got, ok, c.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	q := cat(name("example.com"), u16(1), u16(1))
	loop := build(1, 0, 1, 0, 0, 0, []byte{0xc0, 12}, u16(1), u16(1))
	for _, c := range []struct {
		name      string
		msg       []byte
		err       error
		questions int
		answers   int
	}{
		{"short", []byte{1, 2, 3}, ErrShort, 0, 0},
		{"pointer loop", loop, ErrPointerLoop, 0, 0},
		{"pointer past end", build(1, 0, 1, 0, 0, 0, []byte{0xc3, 0xff}), ErrBadPointer, 0, 0},
		{"absurd counts", build(1, 0x8180, 65535, 65535, 65535, 65535, q), ErrTruncated, 1, 0},
		{"truncated answer", build(1, 0x8180, 1, 2, 0, 0, q, rr(ptr12, 1, 5, []byte{1, 2, 3, 4}), ptr12, u16(1)), ErrTruncated, 1, 1},
		{"bad label type", build(1, 0, 1, 0, 0, 0, []byte{0x40, 'a', 0}), ErrBadLabel, 0, 0},
		{"name too long", build(1, 0, 1, 0, 0, 0, []byte(strings.Repeat("\x3f"+strings.Repeat("a", 63), 5)+"\x00")), ErrLongName, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var m Message
			err := m.Parse(c.msg)
			if err != c.err {
				t.Errorf("err = %v, want %v", err, c.err)
			}
			if len(m.Questions) != c.questions || len(m.Answers) != c.answers {
				t.Errorf("kept %d questions, %d answers; want %d, %d", len(m.Questions), len(m.Answers), c.questions, c.answers)
			}
		})
	}
}

func TestExtendedRCode(t *testing.T) {
	q := cat(name("."), u16(2), u16(1))
	opt := cat([]byte{0}, u16(TypeOPT), u16(4096), []byte{1, 0, 0, 0}, u16(0)) // ext rcode 1
	var m Message
	if err := m.Parse(build(9, 0x8187, 1, 0, 0, 1, q, opt)); err != nil {
		t.Fatal(err)
	}
	if got := RCodeName(m.RCode()); got != "BADCOOKIE" {
		t.Errorf("rcode = %s, want BADCOOKIE (23)", got)
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct {
		t    uint16
		want string
	}{{1, "A"}, {255, "*"}, {65, "HTTPS"}, {257, "CAA"}, {65534, "TYPE65534"}, {32769, "DLV"}, {54, "TYPE54"}} {
		if got := TypeName(c.t); got != c.want {
			t.Errorf("TypeName(%d) = %s, want %s", c.t, got, c.want)
		}
	}
	if RCodeName(3) != "NXDOMAIN" || RCodeName(4000) != "rcode-4000" {
		t.Error("rcode names")
	}
}

func FuzzParse(f *testing.F) {
	q := cat(name("www.example.com"), u16(1), u16(1))
	f.Add(build(1, 0x0100, 1, 0, 0, 0, q))
	f.Add(build(1, 0x8180, 1, 2, 0, 0, q, rr(ptr12, TypeCNAME, 5, cat([]byte{1, 'a'}, ptr12)), rr(ptr12, TypeA, 5, []byte{1, 2, 3, 4})))
	f.Add(build(1, 0x8180, 1, 1, 0, 0, q, rr(ptr12, TypeHTTPS, 5, cat(u16(1), []byte{0}, u16(1), u16(3), []byte{2, 'h', '2'}))))
	f.Add(build(1, 0, 1, 0, 0, 0, []byte{0xc0, 12}, u16(1), u16(1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		m.Parse(b)
		for i := range m.Questions {
			_ = m.QName(i)
		}
		for i := range m.Answers {
			m.AppendAnswer(nil, i)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	q := cat(name("www.example.com"), u16(1), u16(1))
	msg := build(1, 0x8180, 1, 2, 0, 0, q, rr(ptr12, TypeCNAME, 5, cat([]byte{4, 'e', 'd', 'g', 'e'}, ptr12)), rr(ptr12, TypeA, 5, []byte{1, 2, 3, 4}))
	var m Message
	var text []byte
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for i := 0; i < b.N; i++ {
		if err := m.Parse(msg); err != nil {
			b.Fatal(err)
		}
		for j := range m.Answers {
			text, _ = m.AppendAnswer(text[:0], j)
		}
	}
}
