package testenv

import (
	"syscall"
	"testing"
	"time"
)

// BenchLines runs b.N lines, cycling through lines, through parse, and
// reports bytes per line, lines/s and lines per CPU second: the machine is
// shared, and user+system time of the process is the figure that does not
// depend on the load.
func BenchLines(b *testing.B, lines [][]byte, parse func(line []byte) error) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	var n int64
	for i := 0; i < b.N; i++ {
		l := lines[i%len(lines)]
		n += int64(len(l)) + 1
		if err := parse(l); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(n / int64(b.N))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "lines/cpu-s")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
