package zeek

import (
	"bytes"
	"syscall"
	"testing"
	"time"

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
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	var n int64
	for i := 0; i < b.N; i++ {
		l := rows[i%len(rows)]
		n += int64(len(l)) + 1
		if err := p.Line(l, emit); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(n / int64(b.N))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	// The machine is shared: lines per CPU second (user+system time of the
	// process) is the figure that does not depend on the load.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "lines/cpu-s")
	}
}

// BenchmarkTSV parses dns.log rows and encodes their events.
func BenchmarkTSV(b *testing.B) {
	testenv.Shared(b)
	benchLines(b, "zeek-extra/rita-proxy/dns.log")
}

func BenchmarkTSVConn(b *testing.B) { benchLines(b, "zeek-extra/rita-proxy/conn.log") }

func BenchmarkJSON(b *testing.B) { benchLines(b, "zeek-extra/slips-test9-json/dns.log") }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
