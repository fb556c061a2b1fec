package suricata

import (
	"bytes"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

// BenchmarkEve parses a real eve.json (flow, dns v2, http, tls, alert, ...)
// and encodes the events.
func BenchmarkEve(b *testing.B) {
	data, err := os.ReadFile(testenv.SharedPath(b, "eve/stamus-suricata-analytics-training-02/eve.json"))
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	p := NewParser("")
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
		l := lines[i%len(lines)]
		n += int64(len(l)) + 1
		if err := p.Line(l, emit); err != nil {
			b.Fatal(err)
		}
	}
	p.Flush(emit)
	b.SetBytes(n / int64(b.N))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	// The machine is shared: lines per CPU second (user+system time of the
	// process) is the figure that does not depend on the load.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "lines/cpu-s")
	}
}

func BenchmarkParseTime(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ParseTime("2021-06-06T16:26:27.431769+0200")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
