package flow

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
)

var (
	cli = netip.MustParseAddr("10.0.0.1")
	srv = netip.MustParseAddr("192.0.2.80")
	t0  = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

// pkt builds a packet at t0+ms; out means client to server.
func pkt(ms int, out bool, proto uint8, flags uint8, payload int) decode.Packet {
	p := decode.Packet{TS: t0.Add(time.Duration(ms) * time.Millisecond), Proto: proto,
		Src: cli, Dst: srv, SrcPort: 40000, DstPort: 80, TCPFlags: flags, PayloadLen: payload,
		IPLen: 40 + payload, Window: 1000, Seq: uint32(ms * 1000)}
	if !out {
		p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
	}
	return p
}

func collect(cfg Config, ps []decode.Packet, advance time.Duration) []*event.Event {
	var out []*event.Event
	tab := New(cfg, func(e *event.Event) { c := *e; out = append(out, &c) })
	for i := range ps {
		tab.HandlePacket(&ps[i])
	}
	if advance > 0 {
		tab.Advance(ps[len(ps)-1].TS.Add(advance))
		return out
	}
	tab.Close()
	return out
}

const (
	S  = decode.SYN
	SA = decode.SYN | decode.ACK
	A  = decode.ACK
	FA = decode.FIN | decode.ACK
	R  = decode.RST
	RA = decode.RST | decode.ACK
)

func TestTCPStates(t *testing.T) {
	tcp := uint8(decode.ProtoTCP)
	for _, tc := range []struct {
		name       string
		ps         []decode.Packet
		state, his string
		out, in    int64
	}{
		{"S0", []decode.Packet{pkt(0, true, tcp, S, 0), pkt(1000, true, tcp, S, 0)}, "S0", "S", 2, 0},
		{"REJ", []decode.Packet{pkt(0, true, tcp, S, 0), pkt(1, false, tcp, RA, 0)}, "REJ", "Sr", 1, 1},
		{"SF", []decode.Packet{pkt(0, true, tcp, S, 0), pkt(1, false, tcp, SA, 0), pkt(2, true, tcp, A, 0),
			pkt(3, true, tcp, A|decode.PSH, 10), pkt(4, false, tcp, A, 20), pkt(5, true, tcp, FA, 0),
			pkt(6, false, tcp, FA, 0), pkt(7, true, tcp, A, 0)}, "SF", "ShADdFf", 5, 3},
		{"S1", []decode.Packet{pkt(0, true, tcp, S, 0), pkt(1, false, tcp, SA, 0), pkt(2, true, tcp, A, 0)}, "S1", "ShA", 2, 1},
		{"RSTO", []decode.Packet{pkt(0, true, tcp, S, 0), pkt(1, false, tcp, SA, 0), pkt(2, true, tcp, A, 0), pkt(3, true, tcp, R, 0)}, "RSTO", "ShAR", 3, 1},
		{"RSTR", []decode.Packet{pkt(0, true, tcp, S, 0), pkt(1, false, tcp, SA, 0), pkt(2, true, tcp, A, 0), pkt(3, false, tcp, R, 0)}, "RSTR", "ShAr", 2, 2},
		{"SH", []decode.Packet{pkt(0, true, tcp, S, 0), pkt(1, true, tcp, FA, 0)}, "SH", "SF", 2, 0},
		{"flipped SYN-ACK", []decode.Packet{pkt(0, false, tcp, SA, 0), pkt(1, true, tcp, A, 0)}, "OTH", "^hA", 1, 1},
		{"midstream from server port", []decode.Packet{pkt(0, false, tcp, A, 5)}, "OTH", "^d", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := collect(Config{}, tc.ps, 0)
			if len(evs) != 1 {
				t.Fatalf("%d flows, want 1", len(evs))
			}
			e := evs[0]
			if e.ConnState != tc.state || e.History != tc.his || e.PktsOut != tc.out || e.PktsIn != tc.in {
				t.Errorf("got %s %s %d/%d, want %s %s %d/%d", e.ConnState, e.History, e.PktsOut, e.PktsIn, tc.state, tc.his, tc.out, tc.in)
			}
			if e.SrcIP != cli || e.SrcPort != 40000 || e.DestIP != srv || e.DestPort != 80 || e.Proto != "tcp" {
				t.Errorf("endpoints %v:%d -> %v:%d %s", e.SrcIP, e.SrcPort, e.DestIP, e.DestPort, e.Proto)
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	tcp, udp := uint8(decode.ProtoTCP), uint8(decode.ProtoUDP)
	cfg := Config{TCPIdle: 10 * time.Second, UDPIdle: 5 * time.Second, Grace: time.Second, Active: time.Minute}
	// Closed by RST: out after the grace.
	rst := []decode.Packet{pkt(0, true, tcp, S, 0), pkt(1, false, tcp, RA, 0)}
	if n := len(collect(cfg, rst, 500*time.Millisecond)); n != 0 {
		t.Errorf("REJ emitted before the grace ran out")
	}
	if n := len(collect(cfg, rst, 2*time.Second)); n != 1 {
		t.Errorf("REJ not emitted after the grace: %d", n)
	}
	// Idle UDP.
	u := []decode.Packet{pkt(0, true, udp, 0, 10)}
	if n := len(collect(cfg, u, 4*time.Second)); n != 0 {
		t.Errorf("udp emitted before idle timeout")
	}
	if n := len(collect(cfg, u, 6*time.Second)); n != 1 {
		t.Errorf("udp not emitted after idle timeout")
	}
	// Active timeout: a packet every 5 s for 3 minutes gives periodic records.
	var long []decode.Packet
	for ms := 0; ms <= 180000; ms += 5000 {
		long = append(long, pkt(ms, ms%10000 == 0, tcp, A, 100))
	}
	evs := collect(cfg, long, 0)
	if len(evs) != 4 {
		t.Fatalf("active timeout: %d records, want 4", len(evs))
	}
	var pkts int64
	for i, e := range evs {
		pkts += e.PktsIn + e.PktsOut
		if i > 0 && !e.TS.After(evs[i-1].TS) {
			t.Errorf("record %d does not start after the previous one", i)
		}
	}
	if pkts != int64(len(long)) {
		t.Errorf("active records hold %d packets, want %d", pkts, len(long))
	}
}

func TestNewConnectionOnClosedPorts(t *testing.T) {
	tcp := uint8(decode.ProtoTCP)
	ps := []decode.Packet{pkt(0, true, tcp, S, 0), pkt(1, false, tcp, RA, 0), pkt(100, true, tcp, S, 0), pkt(101, false, tcp, SA, 0)}
	evs := collect(Config{}, ps, 0)
	if len(evs) != 2 || evs[0].ConnState != "REJ" || evs[1].History != "Sh" {
		t.Fatalf("got %d flows", len(evs))
	}
}

func TestBoundedTable(t *testing.T) {
	var out []*event.Event
	tab := New(Config{MaxFlows: 10}, func(e *event.Event) { c := *e; out = append(out, &c) })
	for i := 0; i < 100; i++ {
		p := pkt(i, true, decode.ProtoUDP, 0, 10)
		p.SrcPort = uint16(1024 + i)
		tab.HandlePacket(&p)
		if tab.Stats().Open > 10 {
			t.Fatalf("table holds %d flows", tab.Stats().Open)
		}
	}
	if s := tab.Stats(); s.Evicted != 90 || len(out) != 90 || out[0].SrcPort != 1024 {
		t.Errorf("evicted %d, emitted %d, first %d", s.Evicted, len(out), out[0].SrcPort)
	}
	tab.Close()
	if len(out) != 100 {
		t.Errorf("close emitted %d in all", len(out))
	}
}

func TestICMPEcho(t *testing.T) {
	req := decode.Packet{TS: t0, Proto: decode.ProtoICMP, Src: cli, Dst: srv, ICMPType: 8, IPLen: 84, Payload: []byte{0, 7, 0, 1}}
	rep := req
	rep.Src, rep.Dst, rep.ICMPType = srv, cli, 0
	other := req
	other.Payload = []byte{0, 8, 0, 1} // another id: another flow
	proto := decode.Packet{TS: t0, Proto: 47, Src: cli, Dst: srv, IPLen: 100}
	evs := collect(Config{}, []decode.Packet{req, rep, other, proto}, 0)
	if len(evs) != 3 {
		t.Fatalf("%d flows, want 3", len(evs))
	}
	e := evs[0]
	if e.Proto != "icmp" || *e.ICMPType != 8 || *e.ICMPCode != 0 || e.PktsOut != 1 || e.PktsIn != 1 || e.BytesIn != 84 {
		t.Errorf("echo flow: %+v", e)
	}
	if evs[2].Proto != "47" || evs[2].BytesOut != 100 {
		t.Errorf("gre flow: %+v", evs[2])
	}
}

func BenchmarkTable(b *testing.B) {
	b.ReportAllocs()
	tab := New(Config{}, func(*event.Event) {})
	ps := make([]decode.Packet, 4096)
	for i := range ps {
		ps[i] = pkt(i, i%2 == 0, decode.ProtoTCP, A, 100)
		ps[i].SrcPort = uint16(1024 + i/8) // 512 flows of 8 packets
		if i%2 == 1 {
			ps[i].DstPort = ps[i].SrcPort
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := &ps[i%len(ps)]
		p.TS = t0.Add(time.Duration(i) * time.Microsecond)
		tab.HandlePacket(p)
	}
}

// BenchmarkShortFlows is the table's work on a capture of short
// connections from many clients (scripts/bench/short.sh): each flow opens,
// ends and is emitted; ns/op is per packet.
func BenchmarkShortFlows(b *testing.B) {
	b.ReportAllocs()
	tab := New(Config{}, func(*event.Event) {})
	conn := []struct {
		out     bool
		flags   uint8
		payload int
	}{{true, S, 0}, {false, SA, 0}, {true, A, 0}, {true, A, 120}, {false, A, 300}, {true, FA, 0}, {false, FA, 0}, {true, A, 0}}
	var p decode.Packet
	payload := make([]byte, 300)
	for i := 0; b.Loop(); i++ {
		c, step := i/len(conn), conn[i%len(conn)]
		p = pkt(0, step.out, decode.ProtoTCP, step.flags, step.payload)
		p.TS = t0.Add(time.Duration(i) * time.Microsecond)
		client := netip.AddrFrom4([4]byte{10, 1, byte(c >> 8), byte(c)})
		if step.out {
			p.Src, p.SrcPort = client, uint16(1024+c%60000)
		} else {
			p.Dst, p.DstPort = client, uint16(1024+c%60000)
		}
		if step.payload > 0 {
			p.Payload = payload[:step.payload]
		}
		tab.HandlePacket(&p)
	}
	tab.Close()
}

func TestIndexCollisions(t *testing.T) {
	x := NewIndex(func(v *Key) Key { return *v })
	x.seed = 0 // still works: a crafted or chance collision falls back to the overflow map
	keys := make([]*Key, 5000)
	for i := range keys {
		k := Key{PA: uint16(i), Proto: 17}
		keys[i] = &k
		x.Put(k, &k)
	}
	// Force a collision: keys[1]'s hash holds keys[0], keys[1] overflows.
	x.slots[x.find(x.hash(keys[1]))].v = keys[0]
	if _, ok := x.Get(*keys[1]); ok {
		t.Fatal("a hash hit with another key must not be returned")
	}
	x.overflow = map[Key]*Key{*keys[1]: keys[1]}
	if v, ok := x.Get(*keys[1]); !ok || v != keys[1] {
		t.Fatal("overflow lookup failed")
	}
	for _, k := range keys[2:] {
		x.Delete(*k)
	}
	for _, k := range keys[:2] {
		if v, ok := x.Get(*k); !ok || v != k {
			t.Errorf("%v lost", *k)
		}
	}
	if _, ok := x.Get(*keys[2]); ok {
		t.Error("deleted key found")
	}
}

// The index agrees with a map through random adds and removals, which
// shift entries back across the end of the table.
func TestIndexModel(t *testing.T) {
	x := NewIndex(func(v *Key) Key { return *v })
	model := map[Key]*Key{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		k := Key{PA: uint16(rng.IntN(3000)), Proto: 6}
		if v, ok := model[k]; ok {
			if got, ok := x.Get(k); !ok || got != v {
				t.Fatalf("step %d: %v not found", i, k)
			}
			x.Delete(k)
			delete(model, k)
		} else {
			if _, ok := x.Get(k); ok {
				t.Fatalf("step %d: %v found before it was added", i, k)
			}
			v := &k
			x.Put(k, v)
			model[k] = v
		}
		if x.Len() != len(model) {
			t.Fatalf("step %d: length %d, want %d", i, x.Len(), len(model))
		}
	}
	for k, v := range model {
		if got, ok := x.Get(k); !ok || got != v {
			t.Fatalf("%v lost", k)
		}
	}
}

// BenchmarkIndex is a flow table's use: add, look up a few times, remove,
// with some tens of thousands of flows live.
func BenchmarkIndex(b *testing.B) {
	x := NewIndex(func(v *Key) Key { return *v })
	keys := make([]Key, 1<<16)
	for i := range keys {
		keys[i] = Key{PA: uint16(i), PB: 53, Proto: 17}
		keys[i].A[15] = byte(i >> 8)
	}
	const live = 40000
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := &keys[i%len(keys)]
		if i >= live {
			x.Delete(keys[(i-live)%len(keys)])
		}
		x.Put(*k, k)
		x.Get(*k)
		x.Get(*k)
	}
}
