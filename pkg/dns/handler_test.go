package dns

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
)

var (
	t0     = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	client = netip.MustParseAddr("192.0.2.10")
	server = netip.MustParseAddr("198.51.100.53")
)

func udp(ts time.Duration, from, to netip.Addr, sport, dport uint16, payload []byte) *decode.Packet {
	return &decode.Packet{TS: t0.Add(ts), Src: from, Dst: to, Proto: decode.ProtoUDP, SrcPort: sport, DstPort: dport, Payload: payload, PayloadLen: len(payload)}
}

type collector struct{ evs []string }

func (c *collector) emit(e *event.Event) {
	var b strings.Builder
	b.WriteString(e.TS.Sub(t0).String() + " " + e.SrcIP.String() + ":" + itoa(e.SrcPort) + ">" + e.DestIP.String() + ":" + itoa(e.DestPort) + " " + e.Proto + " " + e.Query + " " + e.QType + " " + e.RCode)
	if e.Answers != nil {
		b.WriteString(" [" + strings.Join(e.Answers, ",") + "]")
	}
	c.evs = append(c.evs, b.String())
}

func itoa(v uint16) string { return strconv.Itoa(int(v)) }

func query(id uint16, names ...string) []byte {
	var qs [][]byte
	for _, n := range names {
		qs = append(qs, cat(name(n), u16(1), u16(1)))
	}
	return build(id, 0x0100, len(names), 0, 0, 0, qs...)
}

func answerA(id uint16, n string, rcode uint16, addrs ...byte) []byte {
	var rrs [][]byte
	rrs = append(rrs, cat(name(n), u16(1), u16(1)))
	for _, a := range addrs {
		rrs = append(rrs, rr(ptr12, TypeA, 60, []byte{192, 0, 2, a}))
	}
	return build(id, 0x8180|rcode, 1, len(addrs), 0, 0, rrs...)
}

func TestPairing(t *testing.T) {
	for _, c := range []struct {
		name string
		pkts []*decode.Packet
		adv  time.Duration // Advance to t0+adv before Close, when non-zero
		want []string
	}{
		{"query and response", []*decode.Packet{
			udp(0, client, server, 40000, 53, query(1, "a.example")),
			udp(time.Millisecond, server, client, 53, 40000, answerA(1, "a.example", 0, 1, 2)),
		}, 0, []string{"0s 192.0.2.10:40000>198.51.100.53:53 udp a.example A NOERROR [192.0.2.1,192.0.2.2]"}},
		{"nxdomain has empty answers", []*decode.Packet{
			udp(0, client, server, 40000, 53, query(1, "nx.example")),
			udp(time.Millisecond, server, client, 53, 40000, answerA(1, "nx.example", 3)),
		}, 0, []string{"0s 192.0.2.10:40000>198.51.100.53:53 udp nx.example A NXDOMAIN []"}},
		{"id must match", []*decode.Packet{
			udp(0, client, server, 40000, 53, query(1, "a.example")),
			udp(time.Millisecond, server, client, 53, 40000, answerA(2, "a.example", 0, 1)),
		}, 0, []string{
			"1ms 192.0.2.10:40000>198.51.100.53:53 udp a.example A NOERROR [192.0.2.1]",
			"0s 192.0.2.10:40000>198.51.100.53:53 udp a.example A ",
		}},
		{"unanswered after timeout", []*decode.Packet{
			udp(0, client, server, 40000, 53, query(1, "slow.example")),
			udp(6*time.Second, server, client, 53, 40000, answerA(1, "slow.example", 0, 1)),
		}, 0, []string{
			"0s 192.0.2.10:40000>198.51.100.53:53 udp slow.example A ",
			"6s 192.0.2.10:40000>198.51.100.53:53 udp slow.example A NOERROR [192.0.2.1]",
		}},
		{"every question", []*decode.Packet{
			udp(0, client, server, 40000, 53, query(5, "one.example", "two.example")),
		}, 0, []string{
			"0s 192.0.2.10:40000>198.51.100.53:53 udp one.example A ",
			"0s 192.0.2.10:40000>198.51.100.53:53 udp two.example A ",
		}},
		{"same id queued in order", []*decode.Packet{
			udp(0, client, server, 40000, 53, query(1, "first.example")),
			udp(time.Millisecond, client, server, 40000, 53, query(1, "second.example")),
			udp(2*time.Millisecond, server, client, 53, 40000, answerA(1, "first.example", 0, 1)),
			udp(3*time.Millisecond, server, client, 53, 40000, answerA(1, "second.example", 0, 2)),
		}, 0, []string{
			"0s 192.0.2.10:40000>198.51.100.53:53 udp first.example A NOERROR [192.0.2.1]",
			"1ms 192.0.2.10:40000>198.51.100.53:53 udp second.example A NOERROR [192.0.2.2]",
		}},
		{"other port ignored", []*decode.Packet{
			udp(0, client, server, 40000, 5300, query(1, "a.example")),
		}, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var col collector
			h := NewHandler(Config{Emit: col.emit})
			for _, p := range c.pkts {
				h.Advance(p.TS)
				h.HandlePacket(p)
			}
			h.Close()
			if strings.Join(col.evs, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(col.evs, "\n  "), strings.Join(c.want, "\n  "))
			}
			if h.Pending() != 0 {
				t.Errorf("%d queries still pending after Close", h.Pending())
			}
		})
	}
}

func TestTCPReassembly(t *testing.T) {
	q1, q2 := query(1, "a.example"), query(2, "b.example")
	stream := cat(u16(uint16(len(q1))), q1, u16(uint16(len(q2))), q2)
	r1 := answerA(1, "a.example", 0, 9)
	resp := cat(u16(uint16(len(r1))), r1)
	seg := func(ts time.Duration, from, to netip.Addr, sport, dport uint16, seq uint32, flags uint8, payload []byte) *decode.Packet {
		return &decode.Packet{TS: t0.Add(ts), Src: from, Dst: to, Proto: decode.ProtoTCP, SrcPort: sport, DstPort: dport, Seq: seq, TCPFlags: flags, Payload: payload, PayloadLen: len(payload)}
	}
	var col collector
	h := NewHandler(Config{Emit: col.emit})
	// Two messages split at odd places, one segment retransmitted.
	for _, p := range []*decode.Packet{
		seg(0, client, server, 41000, 53, 100, decode.SYN, nil),
		seg(1, client, server, 41000, 53, 101, decode.ACK, stream[:1]),
		seg(2, client, server, 41000, 53, 102, decode.ACK, stream[1:20]),
		seg(3, client, server, 41000, 53, 102, decode.ACK, stream[1:20]), // retransmission
		seg(4, client, server, 41000, 53, 121, decode.ACK|decode.PSH, stream[20:]),
		seg(5, server, client, 53, 41000, 500, decode.ACK|decode.PSH, resp),
	} {
		h.HandlePacket(p)
	}
	h.Close()
	want := []string{
		"4ns 192.0.2.10:41000>198.51.100.53:53 tcp a.example A NOERROR [192.0.2.9]",
		"4ns 192.0.2.10:41000>198.51.100.53:53 tcp b.example A ",
	}
	if strings.Join(col.evs, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(col.evs, "\n  "), strings.Join(want, "\n  "))
	}
}

func BenchmarkHandler(b *testing.B) {
	q := udp(0, client, server, 40000, 53, query(1, "www.example.com"))
	r := udp(time.Millisecond, server, client, 53, 40000, answerA(1, "www.example.com", 0, 1, 2))
	h := NewHandler(Config{Emit: func(*event.Event) {}})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h.HandlePacket(q)
		h.HandlePacket(r)
	}
}

// FuzzHandler feeds arbitrary payloads as DNS over UDP and TCP, queries and
// responses interleaved, through pairing, reassembly and timeouts.
func FuzzHandler(f *testing.F) {
	f.Add(query(1, "a.example"), answerA(1, "a.example", 0, 1), uint32(7))
	f.Add(cat(u16(29), query(2, "b.example")), []byte{0, 40, 1}, uint32(0))
	f.Fuzz(func(t *testing.T, a, b []byte, seq uint32) {
		var n int
		h := NewHandler(Config{Ports: []uint16{5353}, Emit: func(e *event.Event) { n++; e.AppendJSON(nil) }})
		for i, p := range []*decode.Packet{
			udp(0, client, server, 40000, 53, a),
			udp(time.Millisecond, server, client, 53, 40000, b),
			{TS: t0.Add(2 * time.Millisecond), Src: client, Dst: server, Proto: decode.ProtoTCP, SrcPort: 41000, DstPort: 53, Seq: seq, TCPFlags: decode.ACK, Payload: a},
			{TS: t0.Add(3 * time.Millisecond), Src: client, Dst: server, Proto: decode.ProtoTCP, SrcPort: 41000, DstPort: 53, Seq: seq + uint32(len(a)), TCPFlags: decode.ACK, Payload: b},
			{TS: t0.Add(4 * time.Millisecond), Src: server, Dst: client, Proto: decode.ProtoTCP, SrcPort: 53, DstPort: 41000, Seq: seq ^ 0x5555, TCPFlags: decode.ACK, Payload: append(b, a...)},
		} {
			h.HandlePacket(p)
			if i == 2 {
				h.Advance(t0.Add(10 * time.Second))
			}
		}
		h.Close()
		if h.Pending() != 0 {
			t.Fatalf("%d pending after Close", h.Pending())
		}
	})
}

// TestPendingBound floods the analyser with queries never answered within
// the timeout: the waiting set stays bounded, the oldest come out early and
// are counted, and none is lost.
func TestPendingBound(t *testing.T) {
	n := 0
	h := NewHandler(Config{Timeout: time.Hour, Emit: func(*event.Event) { n++ }})
	msg := query(0, "flood.example")
	total := maxPending + 1000
	for i := 0; i < total; i++ {
		msg[0], msg[1] = byte(i>>8), byte(i)
		h.HandlePacket(udp(time.Duration(i), client, server, uint16(1024+i%50000), 53, msg))
		if h.Pending() > maxPending {
			t.Fatalf("%d pending, bound %d", h.Pending(), maxPending)
		}
	}
	if h.Stats.Early != 1000 || h.Stats.Dropped != 0 || n != 1000 {
		t.Errorf("counted early %d (dropped %d), emitted early %d; want 1000 (0)", h.Stats.Early, h.Stats.Dropped, n)
	}
	h.Close()
	if n != total {
		t.Errorf("%d events for %d queries", n, total)
	}
}

// TestPairingAcrossGrowth keeps more queries waiting than the pairing table
// first has buckets, two per key, and answers them newest key first: every
// response finds its query across the table's growth, and a key's queries
// are answered oldest first.
func TestPairingAcrossGrowth(t *testing.T) {
	var got []string
	h := NewHandler(Config{Emit: func(e *event.Event) {
		if len(e.Answers) != 1 {
			t.Fatalf("%s: answers %q", e.Query, e.Answers)
		}
		got = append(got, e.Query+" "+e.Answers[0])
	}})
	const keys = 3 * minSlots
	port := func(i int) uint16 { return uint16(1024 + i) }
	for round := 0; round < 2; round++ {
		for i := 0; i < keys; i++ {
			h.HandlePacket(udp(0, client, server, port(i), 53, query(uint16(i), "q"+strconv.Itoa(round)+".example")))
		}
	}
	if h.Pending() != 2*keys {
		t.Fatalf("%d pending, want %d", h.Pending(), 2*keys)
	}
	for i := keys - 1; i >= 0; i-- {
		for round := 0; round < 2; round++ {
			h.HandlePacket(udp(time.Millisecond, server, client, 53, port(i), answerA(uint16(i), "q.example", 0, byte(round))))
		}
	}
	if h.Pending() != 0 || h.Stats.Unsolicit != 0 || len(got) != 2*keys {
		t.Fatalf("pending %d, unsolicited %d, events %d", h.Pending(), h.Stats.Unsolicit, len(got))
	}
	for i, g := range got {
		if want := "q" + strconv.Itoa(i%2) + ".example 192.0.2." + strconv.Itoa(i%2); g != want {
			t.Fatalf("event %d: %q, want %q", i, g, want)
		}
	}
}
