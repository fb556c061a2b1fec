package capture

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
)

// readEvents runs a capture through the analysers of every type, with the
// flow table on the pipeline or not, and returns the event lines. With
// sync, the counters are asked for at every clock tick, as SIGUSR1 does.
func readEvents(t testing.TB, data []byte, pipeline, sync bool) []byte {
	var out bytes.Buffer
	writeEvents(t, &out, data, pipeline, sync)
	return out.Bytes()
}

// writeEvents is readEvents writing to out: the benchmark writes to
// io.Discard so that growing a buffer of every event line is not what it
// measures.
func writeEvents(t testing.TB, out io.Writer, data []byte, pipeline, sync bool) {
	w := event.NewWriter(out, false)
	em := NewEmitter(w, false)
	o := Options{Emit: em.Emit, DeferCommunityID: true, DNSTimeout: 5 * time.Second}
	if pipeline {
		o.EmitBatch = em.EmitBatch
	}
	an, err := NewAnalysers(DefaultTypes(), o)
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Decoder: decode.NewDecoder(an.Handlers...), DNS: an.DNS, L7: an.L7}
	if sync {
		r.OnTick = func() { an.Sync(); r.WriteStats(io.Discard, "x") }
	}
	f, err := NewFile(bytes.NewReader(data), "x")
	if err != nil {
		return // not a capture we read: nothing to compare
	}
	r.Run(f, "x")
	r.Finish()
	an.Close()
	if err := em.Close(); err != nil {
		t.Fatal(err)
	}
	w.Close()
}

// The flow table on a goroutine of its own changes nothing in the output,
// order included, on every shared capture: tunnels (outer flows), DNS,
// HTTP, TLS, QUIC, SSH, fragments, damaged files.
func TestPipelineSameOutput(t *testing.T) {
	root := testenv.SharedPath(t)
	var files []string
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			for _, ext := range []string{".pcap", ".pcapng", ".trace", ".cap", ".pcap.gz"} {
				if strings.HasSuffix(path, ext) {
					files = append(files, path)
				}
			}
		}
		return nil
	})
	if len(files) < 100 {
		t.Fatalf("only %d captures under %s", len(files), root)
	}
	events := 0
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		want := readEvents(t, data, false, false)
		events += bytes.Count(want, []byte("\n"))
		for _, sync := range []bool{false, true} {
			if got := readEvents(t, data, true, sync); !bytes.Equal(got, want) {
				t.Errorf("%s (sync %v): the pipeline's output differs:\n%s\nwant:\n%s", name, sync, got, want)
			}
		}
	}
	t.Logf("%d captures, %d events", len(files), events)
}

// The pipeline carries payloads across lots: a capture bigger than one
// lot of operations and of payload bytes.
func TestPipelineManyLots(t *testing.T) {
	data := benchCapture(t, 3000)
	want := readEvents(t, data, false, false)
	for _, sync := range []bool{false, true} {
		if got := readEvents(t, data, true, sync); !bytes.Equal(got, want) {
			t.Fatalf("sync %v: the pipeline's output differs (%d bytes, want %d)", sync, len(got), len(want))
		}
	}
	if n := bytes.Count(want, []byte(`"type":"ip"`)); n < 3000 {
		t.Fatalf("%d flows", n)
	}
}

// burstHandler emits 2000 events (more than a lot holds) on every
// every-th clock tick, starting with the first, and nothing else: a
// timeout that ends thousands of flows, then lots without events.
type burstHandler struct {
	emit  func(*event.Event)
	n     int // events emitted so far
	calls int
	every int
}

func (b *burstHandler) HandlePacket(*decode.Packet) {}
func (b *burstHandler) Close()                      {}
func (b *burstHandler) Advance(time.Time) {
	b.calls++
	if b.calls%b.every != 1 {
		return
	}
	for i := 0; i < 2000; i++ {
		b.n++
		b.emit(&event.Event{Type: event.TypeDNS, Query: strconv.Itoa(b.n)})
	}
}

// A lot whose events overflowed to the encoder mid-replay is not given
// back while the encoder still reads them, even when no event follows the
// overflow in that lot (it was, and the next lot overwrote them).
func TestPipelineOverflowMidRun(t *testing.T) {
	for _, every := range []int{2, 3, 4, 5, 6, 7} {
		t.Run(strconv.Itoa(every), func(t *testing.T) {
			var out bytes.Buffer
			w := event.NewWriter(&out, false)
			em := event.NewEncoder(w, false)
			pl := NewPipeline(em.EmitBatch, em.Emit)
			b := &burstHandler{every: every}
			b.emit = pl.EmitOffloaded
			h := pl.Offload(b)
			var p decode.Packet
			for round := 0; round < 300; round++ {
				h.Advance(time.Time{})
				for i := 0; i < lotOps-1; i++ { // so the next Advance starts a lot
					h.HandlePacket(&p)
				}
			}
			pl.Close()
			if err := em.Close(); err != nil {
				t.Fatal(err)
			}
			w.Close()
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != b.n {
				t.Fatalf("%d lines, want %d", len(lines), b.n)
			}
			for i, l := range lines {
				if want := `"query":"` + strconv.Itoa(i+1) + `"`; !strings.Contains(l, want) {
					t.Fatalf("line %d: %s, want %s", i+1, l, want)
				}
			}
		})
	}
}

// BenchmarkPipeline is the reading of a file with every type on, the flow
// table on the reading goroutine (serial) or on the pipeline's; set
// NFR_BENCH_PCAP to scripts/bench/short.sh's capture for its workload.
func BenchmarkPipeline(b *testing.B) {
	data := benchCapture(b, 10000)
	for _, pipeline := range []bool{false, true} {
		name := "serial"
		if pipeline {
			name = "pipeline"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				writeEvents(b, io.Discard, data, pipeline, false)
			}
		})
	}
}
