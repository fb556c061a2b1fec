package scope

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/pkg/event"
)

// bigScope is the size make bench measures: 10,000 networks and 100,000
// trusted domains over four groups.
func bigScope(tb testing.TB) []byte {
	r := rand.New(rand.NewPCG(7, 7))
	var b strings.Builder
	b.WriteString("groups:\n")
	for g := 0; g < 4; g++ {
		fmt.Fprintf(&b, "  g%d:\n    label: Group %d\n    in_scope:\n", g, g)
		if g == 0 {
			b.WriteString("      - 10.0.0.0/8\n      - fc00::/7\n")
		}
		for i := 0; i < 2000; i++ {
			fmt.Fprintf(&b, "      - 10.%d.%d.0/24\n", r.IntN(256), r.IntN(256))
		}
		for i := 0; i < 250; i++ {
			fmt.Fprintf(&b, "      - fd%02x:%x:%x::/48\n", r.IntN(256), r.IntN(65536), r.IntN(65536))
		}
		b.WriteString("    out_scope:\n")
		for i := 0; i < 250; i++ {
			fmt.Fprintf(&b, "      - 10.%d.%d.%d\n", r.IntN(256), r.IntN(256), r.IntN(256))
		}
		b.WriteString("    trusted_ips:\n      - 192.0.2.0/24\n    trusted_domains:\n")
		for i := 0; i < 25000; i++ {
			if i%2 == 0 {
				fmt.Fprintf(&b, "      - \"*.d%d-%d.example\"\n", g, i)
			} else {
				fmt.Fprintf(&b, "      - host%d.d%d-%d.example.com\n", i, g, i)
			}
		}
	}
	return []byte(b.String())
}

func benchLines(n int) [][]byte {
	r := rand.New(rand.NewPCG(9, 9))
	lines := make([][]byte, n)
	for i := range lines {
		var src, q string
		switch i % 10 {
		case 0:
			src = fmt.Sprintf("fd%02x:1::%x", r.IntN(256), r.IntN(65536))
		case 1:
			src = fmt.Sprintf("203.0.113.%d", r.IntN(256))
		default:
			src = fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256))
		}
		switch i % 4 {
		case 0:
			q = fmt.Sprintf("www.d%d-%d.example", r.IntN(4), r.IntN(25000))
		default:
			q = fmt.Sprintf("n%d.Site%d.com", r.IntN(1000), r.IntN(100000))
		}
		lines[i] = fmt.Appendf(nil, `{"type":"dns","v":1,"ts":"2026-11-27T07:00:00.%06dZ","srcIP":"%s","srcPort":%d,"destIP":"10.0.0.53","destPort":53,"proto":"udp","query":"%s","qtype":"A","rcode":"NOERROR","answers":["93.184.215.14"],"ttls":[300]}`,
			i%1000000, src, 1024+r.IntN(60000), q)
	}
	return lines
}

func BenchmarkLoad(b *testing.B) {
	y := bigScope(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(y)))
	for b.Loop() {
		if _, err := Parse(y, "big.yml"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	s, err := Parse(bigScope(b), "big.yml")
	if err != nil {
		b.Fatal(err)
	}
	src := []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("fd12:1::5"), netip.MustParseAddr("203.0.113.9")}
	names := [][]byte{[]byte("www.d1-100.example"), []byte("n5.site77.com"), []byte("a.b.c.d.e.f.g.h")}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Match(KindDNS, src[i%3], netip.Addr{}, names[i%3])
		i++
	}
}

func BenchmarkLine(b *testing.B) {
	s, err := Parse(bigScope(b), "big.yml")
	if err != nil {
		b.Fatal(err)
	}
	lines := benchLines(4096)
	f := NewFilter(s)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, err := f.Line(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRun is the whole per-line path: reader, filter, buffered writer.
func BenchmarkRun(b *testing.B) {
	s, err := Parse(bigScope(b), "big.yml")
	if err != nil {
		b.Fatal(err)
	}
	in := bytes.Join(benchLines(100000), []byte("\n"))
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		f := NewFilter(s)
		w := event.NewWriter(io.Discard, false)
		if err := f.Run(bytes.NewReader(in), "-", w); err != nil {
			b.Fatal(err)
		}
		w.Close()
	}
	b.ReportMetric(float64(b.N)*100000/b.Elapsed().Seconds(), "events/s")
}
