package stream

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/decode"
)

// recorder writes what it is given as text: data as is, gaps as [gap N],
// the end as [end].
type recorder struct {
	out   [2]strings.Builder
	ended int
	stop  int // refuse data after this many bytes (0: never)
	n     int
}

func (r *recorder) Data(d Dir, b []byte, ts time.Time) bool {
	r.out[d].Write(b)
	r.n += len(b)
	return r.stop == 0 || r.n < r.stop
}
func (r *recorder) Gap(d Dir, n int) { fmt.Fprintf(&r.out[d], "[gap %d]", n) }
func (r *recorder) End(time.Time)    { r.ended++ }

var (
	client = netip.MustParseAddr("10.0.0.1")
	server = netip.MustParseAddr("10.0.0.2")
	t0     = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// seg is a segment from the client (or the server with toClient) at
// relative sequence number rel (1 = first byte after the SYN).
type seg struct {
	toClient bool
	flags    uint8
	rel      uint32
	data     string
	ack      uint32 // relative ack
	wire     int    // wire payload length when cut by the snap length
}

const isnC, isnS = 1000, 50000

func (s seg) packet(i int) decode.Packet {
	p := decode.Packet{TS: t0.Add(time.Duration(i) * time.Millisecond), Proto: decode.ProtoTCP,
		Src: client, Dst: server, SrcPort: 40000, DstPort: 80, TCPFlags: s.flags,
		Seq: isnC + s.rel, Ack: isnS + s.ack, Payload: []byte(s.data), PayloadLen: len(s.data)}
	if s.toClient {
		p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
		p.Seq, p.Ack = isnS+s.rel, isnC+s.ack
	}
	if s.wire > 0 {
		p.PayloadLen = s.wire
	}
	if s.ack == 0 {
		p.Ack = 0
	}
	return p
}

const (
	syn, ack, fin, rst = decode.SYN, decode.ACK, decode.FIN, decode.RST
)

func handshake() []seg {
	return []seg{{flags: syn, rel: 0}, {toClient: true, flags: syn | ack, rel: 0, ack: 1}, {flags: ack, rel: 1, ack: 1}}
}

func TestReassembly(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		segs     []seg
		c2s, s2c string
		stats    Stats
	}{
		{name: "in order", segs: append(handshake(),
			seg{flags: ack, rel: 1, data: "GET / ", ack: 1}, seg{flags: ack, rel: 7, data: "HTTP/1.0\r\n\r\n", ack: 1},
			seg{toClient: true, flags: ack, rel: 1, data: "HTTP/1.0 200 OK\r\n", ack: 19}),
			c2s: "GET / HTTP/1.0\r\n\r\n", s2c: "HTTP/1.0 200 OK\r\n"},
		{name: "out of order", segs: append(handshake(),
			seg{flags: ack, rel: 7, data: "def", ack: 1}, seg{flags: ack, rel: 4, data: "abc", ack: 1}, seg{flags: ack, rel: 1, data: "xyz", ack: 1}),
			c2s: "xyzabcdef"},
		{name: "retransmission and overlap keep the first copy", segs: append(handshake(),
			seg{flags: ack, rel: 1, data: "abcd", ack: 1}, seg{flags: ack, rel: 1, data: "abcd", ack: 1},
			seg{flags: ack, rel: 3, data: "XXef", ack: 1}),
			c2s: "abcdef", stats: Stats{Retransmits: 1}},
		{name: "overlapping buffered segments", segs: append(handshake(),
			seg{flags: ack, rel: 5, data: "efgh", ack: 1}, seg{flags: ack, rel: 3, data: "cdEF", ack: 1}, seg{flags: ack, rel: 1, data: "ab", ack: 1}),
			c2s: "abcdEFgh"},
		{name: "acknowledged hole is a gap", segs: append(handshake(),
			seg{flags: ack, rel: 1, data: "abc", ack: 1}, seg{flags: ack, rel: 8, data: "hij", ack: 1},
			seg{toClient: true, flags: ack, rel: 1, ack: 11}),
			c2s: "abc[gap 4]hij", stats: Stats{Gaps: 1, GapBytes: 4}},
		{name: "hole at the end is a gap", segs: append(handshake(),
			seg{flags: ack, rel: 1, data: "abc", ack: 1}, seg{flags: ack, rel: 6, data: "fg", ack: 1}),
			c2s: "abc[gap 2]fg", stats: Stats{Gaps: 1, GapBytes: 2}},
		{name: "snap length", segs: append(handshake(),
			seg{flags: ack, rel: 1, data: "abc", ack: 1, wire: 10}, seg{flags: ack, rel: 11, data: "k", ack: 1}),
			c2s: "abc[gap 7]k", stats: Stats{Gaps: 1, GapBytes: 7}},
		{name: "per-stream bound gives up on the hole", cfg: Config{MaxPerStream: 4}, segs: append(handshake(),
			seg{flags: ack, rel: 3, data: "cd", ack: 1}, seg{flags: ack, rel: 5, data: "ef", ack: 1}, seg{flags: ack, rel: 7, data: "gh", ack: 1}),
			c2s: "[gap 2]cdefgh", stats: Stats{Gaps: 1, GapBytes: 2}},
		{name: "total bound drops", cfg: Config{MaxTotal: 3}, segs: append(handshake(),
			seg{flags: ack, rel: 3, data: "cd", ack: 1}, seg{flags: ack, rel: 5, data: "ef", ack: 1}, seg{flags: ack, rel: 1, data: "ab", ack: 1}),
			c2s: "abcd", stats: Stats{Dropped: 1, DroppedBytes: 2}},
		{name: "midstream", segs: []seg{{flags: ack, rel: 100, data: "mid", ack: 1}, {toClient: true, flags: ack, rel: 5, data: "dle", ack: 103}},
			c2s: "mid", s2c: "dle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec recorder
			r := New(tc.cfg, func(ID) Conn { return &rec })
			for i, s := range tc.segs {
				p := s.packet(i)
				r.HandlePacket(&p)
			}
			r.Close()
			if got := rec.out[0].String(); got != tc.c2s {
				t.Errorf("client to server %q, want %q", got, tc.c2s)
			}
			if got := rec.out[1].String(); got != tc.s2c {
				t.Errorf("server to client %q, want %q", got, tc.s2c)
			}
			if rec.ended != 1 {
				t.Errorf("ended %d times", rec.ended)
			}
			st := r.Stats()
			st.Conns, st.Buffered = 0, 0
			if st != tc.stats {
				t.Errorf("stats %+v, want %+v", st, tc.stats)
			}
			if r.Stats().Buffered != 0 {
				t.Errorf("%d bytes still buffered", r.Stats().Buffered)
			}
		})
	}
}

func TestEnds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		segs  []seg
		ended int
	}{
		{"fin both ways", append(handshake(), seg{flags: fin | ack, rel: 1, ack: 1}, seg{toClient: true, flags: fin | ack, rel: 1, ack: 2}), 1},
		{"rst", append(handshake(), seg{flags: rst, rel: 1}), 1},
		{"fin one way", append(handshake(), seg{flags: fin | ack, rel: 1, ack: 1}), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec recorder
			r := New(Config{}, func(ID) Conn { return &rec })
			for i, s := range tc.segs {
				p := s.packet(i)
				r.HandlePacket(&p)
			}
			if rec.ended != tc.ended {
				t.Errorf("ended %d before Close, want %d", rec.ended, tc.ended)
			}
			r.Advance(t0.Add(time.Hour))
			if rec.ended != 1 {
				t.Errorf("idle timeout: ended %d", rec.ended)
			}
		})
	}
}

func TestFanoutAndStop(t *testing.T) {
	a, b := &recorder{stop: 3}, &recorder{}
	r := New(Config{MaxConns: 1}, Fanout(func(ID) Conn { return a }, func(ID) Conn { return nil }, func(ID) Conn { return b }))
	segs := append(handshake(), seg{flags: ack, rel: 1, data: "abc", ack: 1}, seg{flags: ack, rel: 4, data: "def", ack: 1})
	for i, s := range segs {
		p := s.packet(i)
		r.HandlePacket(&p)
	}
	// A second connection evicts the first.
	p := seg{flags: syn}.packet(99)
	p.SrcPort++
	r.HandlePacket(&p)
	if a.out[0].String() != "abc" || b.out[0].String() != "abcdef" || a.ended != 1 || b.ended != 1 {
		t.Errorf("a %q %d, b %q %d", a.out[0].String(), a.ended, b.out[0].String(), b.ended)
	}
	if r.Stats().Evicted != 1 {
		t.Errorf("evicted %d", r.Stats().Evicted)
	}
}

func BenchmarkReassembly(b *testing.B) {
	b.ReportAllocs()
	r := New(Config{}, func(ID) Conn { return &discard{} })
	payload := make([]byte, 1400)
	var ps []decode.Packet
	for i, s := range handshake() {
		ps = append(ps, s.packet(i))
	}
	for i := 0; i < 64; i++ {
		s := seg{flags: ack, rel: 1 + uint32(i)*1400, ack: 1}
		p := s.packet(i)
		p.Payload, p.PayloadLen = payload, len(payload)
		ps = append(ps, p)
	}
	// Swap neighbours so half the segments arrive out of order.
	for i := 3; i+1 < len(ps); i += 4 {
		ps[i], ps[i+1] = ps[i+1], ps[i]
	}
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := ps[i%len(ps)]
		p.SrcPort = uint16(1024 + i/len(ps)%4096)
		r.HandlePacket(&p)
	}
}

type discard struct{}

func (discard) Data(Dir, []byte, time.Time) bool { return true }
func (discard) Gap(Dir, int)                     {}
func (discard) End(time.Time)                    {}
