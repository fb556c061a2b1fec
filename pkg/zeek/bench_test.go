package zeek

import (
	"bytes"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

func benchLines(b *testing.B, path string) {
	data := readShared(b, path)
	lines := bytes.Split(data, []byte("\n"))
	var rows [][]byte
	for _, l := range lines {
		if len(l) > 0 && l[0] != '#' {
			rows = append(rows, l)
		}
	}
	p := NewParser("dns.log", "", nil)
	for _, l := range lines {
		if len(l) > 0 && l[0] == '#' {
			p.Line(l, nil)
		}
	}
	var out []byte
	emit := func(e *event.Event) error {
		out = e.AppendJSON(out[:0])
		return nil
	}
	testenv.BenchLines(b, rows, func(l []byte) error { return p.Line(l, emit) })
}

// BenchmarkTSV parses dns.log rows and encodes their events.
func BenchmarkTSV(b *testing.B) {
	testenv.Shared(b)
	benchLines(b, "zeek-extra/rita-proxy/dns.log")
}

func BenchmarkTSVConn(b *testing.B) { benchLines(b, "zeek-extra/rita-proxy/conn.log") }

func BenchmarkJSON(b *testing.B) { benchLines(b, "zeek-extra/slips-test9-json/dns.log") }
