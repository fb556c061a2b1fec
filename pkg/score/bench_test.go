package score

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/intel"
	"github.com/nfr-project/nfr/scripts/genthreats/traffic"
)

// mixedEvents makes n events of a busy network (traffic.Mixed).
func mixedEvents(n int) []event.Event {
	evs := make([]event.Event, 0, n)
	traffic.New(1).Mixed(n, traffic.Start, func(e *event.Event) { evs = append(evs, *e) })
	return evs
}

var (
	millionOnce *intel.Set
)

// millionFeed is a feed of 1,000,000 indicators (domains, addresses,
// blocks), none of them in mixedEvents.
func millionFeed(tb testing.TB) *intel.Set {
	if millionOnce != nil {
		return millionOnce
	}
	var b bytes.Buffer
	for i := 0; i < 1000000; i++ {
		switch i % 4 {
		case 0, 1:
			fmt.Fprintf(&b, "c2-%d.bad%d.net\n", i, i%977)
		case 2:
			fmt.Fprintf(&b, "%d.%d.%d.1\n", 45+i>>16, i>>8&255, i&255)
		case 3:
			fmt.Fprintf(&b, "%d.%d.%d.0/24\n", 110+i>>16, i>>8&255, i&255)
		}
	}
	s := intel.NewSet()
	if _, err := s.Load(&b, intel.Feed{Name: "bench", Format: "plain", Threat: "c2"}); err != nil {
		tb.Fatal(err)
	}
	millionOnce = s
	return s
}

func benchProcess(b *testing.B, evs []event.Event) {
	cfg := DefaultConfig()
	cfg.Feeds = millionFeed(b)
	e, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	emit := func(*event.Event) {}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		e.Process(&evs[i%len(evs)], emit)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkProcess is the whole Process path over a mixed stream with a
// 1,000,000-indicator feed loaded.
func BenchmarkProcess(b *testing.B) { benchProcess(b, mixedEvents(100000)) }

func onlyType(typ string) []event.Event {
	var out []event.Event
	for _, e := range mixedEvents(100000) {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func BenchmarkProcessDNS(b *testing.B)  { benchProcess(b, onlyType(event.TypeDNS)) }
func BenchmarkProcessIP(b *testing.B)   { benchProcess(b, onlyType(event.TypeIP)) }
func BenchmarkProcessTLS(b *testing.B)  { benchProcess(b, onlyType(event.TypeTLS)) }
func BenchmarkProcessHTTP(b *testing.B) { benchProcess(b, onlyType(event.TypeHTTP)) }

// BenchmarkFilter is nfr-score's loop: decoding lines, scoring, writing.
func BenchmarkFilter(b *testing.B) {
	evs := mixedEvents(300000)
	var in bytes.Buffer
	for i := range evs {
		in.Write(evs[i].AppendJSON(nil))
		in.WriteByte('\n')
	}
	data := in.Bytes()
	cfg := DefaultConfig()
	cfg.Feeds = millionFeed(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	e, _ := New(cfg) // one engine: its caches warm, as in a long run
	for b.Loop() {
		f := &Filter{Engine: e, Out: event.NewWriter(io.Discard, false)}
		if err := f.Run(bytes.NewReader(data), "bench"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkDGAScore(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		dgaScore("paxeo0jk")
	}
}

func BenchmarkRegistered(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Registered("a.b.www.example.co.uk")
	}
}

func BenchmarkBeacon(b *testing.B) {
	e, _ := New(DefaultConfig())
	ev := event.Event{Type: event.TypeIP, SrcIP: netip.MustParseAddr("10.0.0.1"), DestIP: netip.MustParseAddr("203.0.113.1"), DestPort: 8443, Proto: "tcp", BytesOut: 500, BytesIn: 900, PktsIn: 3, ConnState: "SF"}
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		t = t.Add(time.Minute)
		ev.TS = t
		e.Process(&ev, func(*event.Event) {})
	}
}

// BenchmarkDecode is the decoding nfr-score's reader goroutine does, for
// comparison with Process.
func BenchmarkDecode(b *testing.B) {
	evs := mixedEvents(10000)
	lines := make([][]byte, len(evs))
	for i := range evs {
		lines[i] = evs[i].AppendJSON(nil)
	}
	var ev event.Event
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		event.Unmarshal(lines[i%len(lines)], &ev)
		i++
	}
}
