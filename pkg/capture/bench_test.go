package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/dns"
	"github.com/nfr-project/nfr/pkg/event"
)

// benchCapture repeats the query and response of a real capture n times,
// each pair with its own client port and transaction id, as one pcap.
func benchCapture(b testing.TB, n int) []byte {
	if p := os.Getenv("NFR_BENCH_PCAP"); p != "" {
		// A bigger, more varied capture such as scripts/gendns writes.
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	raw, err := os.ReadFile(testenv.SharedPath(b, "tcpdump/dns_udp/dns_udp.pcap"))
	if err != nil {
		b.Fatal(err)
	}
	f, err := NewFile(bytes.NewReader(raw), "x")
	if err != nil {
		b.Fatal(err)
	}
	var frames [][]byte
	for {
		data, _, err := f.ReadPacket()
		if err != nil {
			break
		}
		frames = append(frames, append([]byte(nil), data...))
	}
	out := append([]byte(nil), raw[:24]...)
	for i := 0; i < n; i++ {
		for j, fr := range frames {
			fr = append([]byte(nil), fr...)
			// Ethernet + IPv4 (20) + UDP: client port and DNS id.
			port := uint16(1024 + i%60000)
			if j == 0 {
				binary.BigEndian.PutUint16(fr[34:], port)
			} else {
				binary.BigEndian.PutUint16(fr[36:], port)
			}
			binary.BigEndian.PutUint16(fr[42:], uint16(i))
			var rec [16]byte
			binary.LittleEndian.PutUint32(rec[0:], uint32(1600000000+i/1000))
			binary.LittleEndian.PutUint32(rec[4:], uint32(i%1000*1000+j))
			binary.LittleEndian.PutUint32(rec[8:], uint32(len(fr)))
			binary.LittleEndian.PutUint32(rec[12:], uint32(len(fr)))
			out = append(out, rec[:]...)
			out = append(out, fr...)
		}
	}
	return out
}

// BenchmarkFileToEvents measures the whole path: pcap reader, decoder, DNS
// analyser and event encoding into a buffered writer.
func BenchmarkFileToEvents(b *testing.B) {
	data := benchCapture(b, 10000)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	var frames uint64
	for i := 0; i < b.N; i++ {
		w := event.NewWriter(io.Discard, false)
		em := NewEmitter(w, false)
		h := dns.NewHandler(dns.Config{Emit: em.Emit})
		r := &Runner{Decoder: decode.NewDecoder(h), DNS: h}
		f, _ := NewFile(bytes.NewReader(data), "bench")
		if err := r.Run(f, "bench"); err != nil {
			b.Fatal(err)
		}
		r.Finish()
		em.Close()
		w.Close()
		frames += r.Decoder.Stats.Frames
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkReader measures the pcap reader alone.
func BenchmarkReader(b *testing.B) {
	data := benchCapture(b, 10000)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		f, _ := NewFile(bytes.NewReader(data), "bench")
		for {
			if _, _, err := f.ReadPacket(); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(b.N)*20000/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkFileDecode is BenchmarkFileToEvents without the encoding:
// events are dropped as the DNS analyser makes them, so the figure is the
// decoding goroutine's share of the work.
func BenchmarkFileDecode(b *testing.B) {
	data := benchCapture(b, 10000)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var frames uint64
	for b.Loop() {
		h := dns.NewHandler(dns.Config{Emit: func(*event.Event) {}})
		r := &Runner{Decoder: decode.NewDecoder(h), DNS: h}
		f, _ := NewFile(bytes.NewReader(data), "bench")
		if err := r.Run(f, "bench"); err != nil {
			b.Fatal(err)
		}
		r.Finish()
		frames += r.Decoder.Stats.Frames
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "packets/s")
}
