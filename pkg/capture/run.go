package capture

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfr-project/nfr/pkg/analysis"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/dns"
)

// advanceEvery is how often, in capture time, the handlers are told the
// clock moved; timeouts are seconds, so finer steps would only cost.
const advanceEvery = 100 * time.Millisecond

// Runner reads sources through one decoder. It is driven from one
// goroutine; RequestStats may be called from any.
type Runner struct {
	Decoder *decode.Decoder
	DNS     *dns.Handler  // for its counters; may be nil
	L7      *analysis.Set // for its counters; may be nil
	// Live makes the clock the wall clock instead of capture time.
	Live bool
	// OnStats is called from the reading goroutine after RequestStats.
	OnStats func()
	// Namer, if set, names each frame's source (the interface of a
	// multi-interface capture); else the name given to Run is used.
	Namer func(ci decode.CaptureInfo) string
	// OnOpen, if set, runs once the live source is open and before the
	// first frame is read: nfr-capture -Z drops privileges there.
	OnOpen func() error
	// OnTick is called from the reading goroutine whenever the clock
	// advances (every 100 ms of capture time, or of wall time live).
	OnTick func()

	statsReq atomic.Bool
	lastTick int64     // UnixNano of the last Advance; integer compares cost less than time.Time.Sub
	file     *File     // the capture file being read, for its counters
	past     FileStats // the counters of the files read before it
	kernel   func() (uint64, uint64, bool)
}

// KernelCounter is a live source that knows what the kernel received and
// dropped (libpcap here; an AF_PACKET ring too). --stats prints it.
type KernelCounter interface {
	KernelStats() (received, dropped uint64, ok bool)
}

// RequestStats asks the reading goroutine to call OnStats soon (SIGUSR1).
func (r *Runner) RequestStats() { r.statsReq.Store(true) }

// Run reads src until io.EOF and decodes every frame, naming name as the
// events' source. A live source returns an error whose Timeout() is true
// when no frame came for a while, so the clock (and query timeouts) still
// advance on a quiet interface. It returns the source's error, if any, after handing on
// every frame read before it. It does not Close the decoder: call Finish
// after the last source.
func (r *Runner) Run(src decode.Source, name string) error {
	if f, ok := src.(*File); ok {
		// Keep the counters, not the File: its buffers go once it is read.
		if r.file != nil {
			r.past.add(r.file.Stats)
		}
		r.file = f
		f.Poll = true
	}
	if k, ok := src.(KernelCounter); ok {
		r.kernel = k.KernelStats
	}
	d := r.Decoder
	for {
		if r.statsReq.Load() {
			r.statsReq.Store(false)
			if r.OnStats != nil {
				r.OnStats()
			}
		}
		data, ci, err := src.ReadPacket()
		if err != nil {
			var te interface{ Timeout() bool }
			if errors.As(err, &te) && te.Timeout() {
				if r.Live {
					r.tick(time.Now())
				}
				continue
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		if r.Namer != nil {
			d.Decode(data, ci, r.Namer(ci))
		} else {
			d.Decode(data, ci, name)
		}
		now := ci.TS
		if r.Live {
			now = time.Now()
		}
		if ns := now.UnixNano(); ns-r.lastTick >= int64(advanceEvery) || ns < r.lastTick {
			r.tick(now)
		}
	}
}

func (r *Runner) tick(now time.Time) {
	r.lastTick = now.UnixNano()
	r.Decoder.Advance(now)
	if r.OnTick != nil {
		r.OnTick()
	}
}

// Finish flushes every handler: pending transactions become events.
func (r *Runner) Finish() { r.Decoder.Close() }

var linkNames = map[uint16]string{
	decode.LinkNull: "null", decode.LinkEthernet: "ethernet", decode.LinkRaw: "raw",
	decode.LinkPPP: "ppp", decode.LinkLoop: "loop", decode.LinkSLL: "linux-sll",
	decode.LinkSLL2: "linux-sll2", decode.LinkIPv4: "ipv4", decode.LinkIPv6: "ipv6",
	10: "fddi", 12: "raw", 14: "raw", 50: "ppp-hdlc", 104: "c-hdlc", 127: "radiotap", 105: "802.11", 239: "nflog",
}

// LinkName returns a short name for a LINKTYPE_ value.
func LinkName(l uint16) string {
	if n, ok := linkNames[l]; ok {
		return n
	}
	return fmt.Sprintf("linktype-%d", l)
}

// UnsupportedLinks returns an error naming the link types of frames read
// that cannot be decoded (they yield no events), or nil.
func (r *Runner) UnsupportedLinks() error {
	var links []string
	for l, n := range r.Decoder.LinkCounts() {
		if !decode.Supported(l) {
			links = append(links, fmt.Sprintf("%s (%d packets)", LinkName(l), n))
		}
	}
	if len(links) == 0 {
		return nil
	}
	sort.Strings(links)
	return fmt.Errorf("link type %s not supported: those packets were not decoded", strings.Join(links, ", "))
}

// WriteStats writes the counters, one line each, prefixed with prog.
func (r *Runner) WriteStats(w io.Writer, prog string) {
	s := &r.Decoder.Stats
	var links []string
	for l, n := range r.Decoder.LinkCounts() {
		links = append(links, fmt.Sprintf("%s %d", LinkName(l), n))
	}
	sort.Strings(links)
	fmt.Fprintf(w, "%s: packets %d (%s)\n", prog, s.Frames, strings.Join(links, ", "))
	fs := r.Decoder.FragmentStats()
	fmt.Fprintf(w, "%s: decoded %d, decapsulated %d, fragments %d (reassembled %d, timed out %d, evicted %d)\n",
		prog, s.Decoded, s.Tunnelled, s.Fragments, s.Reassembled, fs.TimedOut, fs.Evicted)
	if nonIP := s.Undecoded[decode.ReasonUnknownEtherType]; nonIP > 0 {
		fmt.Fprintf(w, "%s: not IP %d\n", prog, nonIP)
	}
	mal := s.Malformed()
	delete(mal, decode.ReasonUnknownEtherType.String())
	if r.DNS != nil {
		ds := &r.DNS.Stats
		fmt.Fprintf(w, "%s: dns messages %d (queries %d, responses %d), events %d (unanswered %d, responses without query %d)\n",
			prog, ds.Messages, ds.Queries, ds.Responses, ds.Events, ds.Unanswered, ds.Unsolicit)
		for k, v := range ds.Malformed {
			mal["dns "+k] += v
		}
		if ds.TCPGaps > 0 || ds.Dropped > 0 {
			fmt.Fprintf(w, "%s: dns tcp gaps %d, tcp connections dropped at the state limit %d\n", prog, ds.TCPGaps, ds.Dropped)
		}
		if ds.Early > 0 {
			// Written unanswered, not lost: the waiting set was full.
			fmt.Fprintf(w, "%s: dns queries written early (unanswered) at the state limit %d\n", prog, ds.Early)
		}
	}
	if r.L7 != nil {
		writeL7Stats(w, prog, r.L7.Stats())
	}
	var ms []string
	var total uint64
	for k, v := range mal {
		ms = append(ms, fmt.Sprintf("%s %d", k, v))
		total += v
	}
	sort.Strings(ms)
	if total > 0 {
		fmt.Fprintf(w, "%s: malformed %d (%s)\n", prog, total, strings.Join(ms, ", "))
	} else {
		fmt.Fprintf(w, "%s: malformed 0\n", prog)
	}
	files := r.past
	if r.file != nil {
		files.add(r.file.Stats)
	}
	spb, skipped := files.SimplePackets, files.SkippedBlocks
	if spb > 0 || skipped > 0 {
		fmt.Fprintf(w, "%s: pcapng blocks skipped %d, simple packet blocks skipped %d (no timestamp)\n", prog, skipped, spb)
	}
	if r.kernel != nil {
		if rcv, drop, ok := r.kernel(); ok {
			fmt.Fprintf(w, "%s: kernel received %d, dropped %d\n", prog, rcv, drop)
		}
	}
}

// Guard holds the source being read so a signal handler can close it: the
// reading loop then ends and pending transactions are flushed.
type Guard struct {
	mu   sync.Mutex
	cur  io.Closer
	done bool
}

// Set makes src (a decode.Source, or an AF_PACKET capture of several) the
// source to close; false when already stopped.
func (g *Guard) Set(src io.Closer) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cur = src
	return !g.done
}

// Stop closes the current source and refuses later ones.
func (g *Guard) Stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.done = true
	if g.cur != nil {
		g.cur.Close()
	}
}

// Stopped reports whether Stop was called.
func (g *Guard) Stopped() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.done
}

// RunFiles reads the named captures in order ("-" is stdin) through the
// runner. It stops at the first file that cannot be opened or is damaged
// and returns that error; an error caused by Stop is not returned.
func (r *Runner) RunFiles(names []string, stdin io.Reader, g *Guard) error {
	for _, name := range names {
		f, err := Open(name, stdin)
		if err != nil {
			return err
		}
		if !g.Set(f) {
			f.Close()
			return nil
		}
		err = r.Run(f, name)
		f.Close()
		if err != nil && !g.Stopped() {
			return err
		}
	}
	return nil
}

// RunLive captures from an interface until the guard stops it.
func (r *Runner) RunLive(cfg LiveConfig, g *Guard) error {
	l, err := OpenLive(cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	if r.OnOpen != nil {
		if err := r.OnOpen(); err != nil {
			return err
		}
	}
	if !g.Set(l) {
		return nil
	}
	if err := r.Run(l, cfg.Interface); err != nil && !g.Stopped() {
		return fmt.Errorf("%s: %v", cfg.Interface, err)
	}
	return nil
}

// ParsePorts parses --dns-port values: ports, comma-separated or repeated.
func ParsePorts(args []string) ([]uint16, error) {
	var ports []uint16
	for _, a := range args {
		for _, f := range strings.Split(a, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("bad port %q", f)
			}
			ports = append(ports, uint16(n))
		}
	}
	return ports, nil
}

func writeL7Stats(w io.Writer, prog string, s analysis.Stats) {
	fmt.Fprintf(w, "%s: flows emitted %d (table full %d, active timeout %d), open %d\n",
		prog, s.Flow.Flows, s.Flow.Evicted, s.Flow.Active, s.Flow.Open)
	fmt.Fprintf(w, "%s: tcp reassembly: connections %d (evicted %d), gaps %d (%d bytes), retransmits %d, dropped %d (%d bytes)\n",
		prog, s.Stream.Conns, s.Stream.Evicted, s.Stream.Gaps, s.Stream.GapBytes, s.Stream.Retransmits, s.Stream.Dropped, s.Stream.DroppedBytes)
	fmt.Fprintf(w, "%s: http: connections %d, events %d (no response %d), responses without request %d, unparsed %d, dropped %d\n",
		prog, s.HTTP.Conns, s.HTTP.Requests, s.HTTP.Unmatched, s.HTTP.Orphans, s.HTTP.Unparsed, s.HTTP.Dropped)
	fmt.Fprintf(w, "%s: tls: connections %d, events %d, malformed %d, bad certificates %d, dropped %d; quic: initials %d, events %d, undecryptable %d, malformed %d, evicted %d\n",
		prog, s.TLS.Conns, s.TLS.Events, s.TLS.Malformed, s.TLS.BadCerts, s.TLS.Dropped, s.QUIC.Initials, s.QUIC.Events, s.QUIC.Undecrypt, s.QUIC.Malformed, s.QUIC.Evicted)
	fmt.Fprintf(w, "%s: ssh: connections %d, events %d, malformed %d\n", prog, s.SSH.Conns, s.SSH.Events, s.SSH.Malformed)
}
