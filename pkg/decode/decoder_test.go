package decode

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

type recorder struct{ pkts []Packet }

func (r *recorder) HandlePacket(p *Packet) {
	c := *p
	c.Payload = append([]byte(nil), p.Payload...)
	r.pkts = append(r.pkts, c)
}
func (r *recorder) Advance(time.Time) {}
func (r *recorder) Close()            {}

// A UDP datagram 192.0.2.1:1234 -> 198.51.100.2:53 with payload "hi".
func ipv4UDP() []byte {
	b := []byte{0x45, 0, 0, 30, 0, 1, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2}
	binary.BigEndian.PutUint16(b[10:], ^checksum(b, 0))
	return append(b, 0x04, 0xd2, 0, 53, 0, 10, 0, 0, 'h', 'i')
}

func ipv6UDP(ext ...byte) []byte {
	udp := []byte{0x04, 0xd2, 0, 53, 0, 10, 0, 0, 'h', 'i'}
	next := byte(17)
	if len(ext) > 0 {
		next = 0 // hop-by-hop first
	}
	b := []byte{0x60, 0, 0, 0, 0, byte(len(ext) + len(udp)), next, 64}
	b = append(b, netip.MustParseAddr("2001:db8::1").AsSlice()...)
	b = append(b, netip.MustParseAddr("2001:db8::2").AsSlice()...)
	b = append(b, ext...)
	return append(b, udp...)
}

func eth(et uint16, payload []byte) []byte {
	b := make([]byte, 12)
	b = binary.BigEndian.AppendUint16(b, et)
	return append(b, payload...)
}

func vlan(et uint16, tags int, payload []byte) []byte {
	var b []byte
	for i := 0; i < tags; i++ {
		b = append(b, 0, byte(i+1), 0x81, 0)
	}
	b[len(b)-2], b[len(b)-1] = byte(et>>8), byte(et)
	return eth(0x88a8, append(b, payload...))
}

func TestLinkLayers(t *testing.T) {
	v4, v6 := ipv4UDP(), ipv6UDP()
	hbh := []byte{17, 0, 1, 4, 0, 0, 0, 0} // hop-by-hop, next UDP, PadN
	sll := append([]byte{0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0}, v4...)
	sll2 := append([]byte{0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0}, v6...)
	for _, c := range []struct {
		name string
		link uint16
		data []byte
		src  string
	}{
		{"ethernet ipv4", LinkEthernet, eth(0x0800, v4), "192.0.2.1"},
		{"ethernet ipv6", LinkEthernet, eth(0x86dd, v6), "2001:db8::1"},
		{"802.1Q", LinkEthernet, eth(0x8100, append([]byte{0, 5, 0x08, 0}, v4...)), "192.0.2.1"},
		{"Q-in-Q-in-Q", LinkEthernet, vlan(0x0800, 3, v4), "192.0.2.1"},
		{"SLL", LinkSLL, sll, "192.0.2.1"},
		{"SLL2", LinkSLL2, sll2, "2001:db8::1"},
		{"raw", LinkRaw, v6, "2001:db8::1"},
		{"ipv4 link", LinkIPv4, v4, "192.0.2.1"},
		{"null little-endian", LinkNull, append([]byte{2, 0, 0, 0}, v4...), "192.0.2.1"},
		{"null big-endian", LinkNull, append([]byte{0, 0, 0, 2}, v4...), "192.0.2.1"},
		{"null ipv6 (30)", LinkNull, append([]byte{30, 0, 0, 0}, v6...), "2001:db8::1"},
		{"loop", LinkLoop, append([]byte{0, 0, 0, 24}, v6...), "2001:db8::1"},
		{"ppp", LinkPPP, append([]byte{0xff, 0x03, 0, 0x21}, v4...), "192.0.2.1"},
		{"pppoe", LinkEthernet, eth(0x8864, append([]byte{0x11, 0, 0, 1, 0, 32, 0, 0x21}, v4...)), "192.0.2.1"},
		{"mpls two labels", LinkEthernet, eth(0x8847, append([]byte{0, 1, 0, 64, 0, 2, 1, 64}, v4...)), "192.0.2.1"},
		{"ipv6 hop-by-hop", LinkRaw, ipv6UDP(hbh...), "2001:db8::1"},
		{"vxlan", LinkEthernet, eth(0x0800, udpIn(4789, append([]byte{8, 0, 0, 0, 0, 0, 1, 0}, eth(0x0800, v4)...))), "192.0.2.1"},
		{"geneve", LinkEthernet, eth(0x0800, udpIn(6081, append([]byte{0, 0, 0x65, 0x58, 0, 0, 1, 0}, eth(0x0800, v4)...))), "192.0.2.1"},
		{"gre", LinkEthernet, eth(0x0800, ipIn(47, append([]byte{0, 0, 0x08, 0}, v4...))), "192.0.2.1"},
		{"ip-in-ip", LinkEthernet, eth(0x0800, ipIn(4, v4)), "192.0.2.1"},
		{"6in4", LinkEthernet, eth(0x0800, ipIn(41, v6)), "2001:db8::1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r recorder
			d := NewDecoder(&r)
			if reason := d.Decode(c.data, CaptureInfo{LinkType: c.link}, "test"); reason != ReasonNone {
				t.Fatalf("reason %v", reason)
			}
			if len(r.pkts) != 1 {
				t.Fatalf("%d packets", len(r.pkts))
			}
			p := r.pkts[0]
			if p.Src.String() != c.src || p.Proto != ProtoUDP || p.SrcPort != 1234 || p.DstPort != 53 || string(p.Payload) != "hi" {
				t.Errorf("got %+v", p)
			}
		})
	}
}

// udpIn wraps payload in IPv4/UDP to dport; ipIn wraps it in IPv4 proto.
func udpIn(dport uint16, payload []byte) []byte {
	u := binary.BigEndian.AppendUint16([]byte{0x30, 0x39}, dport)
	u = binary.BigEndian.AppendUint16(u, uint16(8+len(payload)))
	u = append(u, 0, 0)
	return ipIn(17, append(u, payload...))
}

func ipIn(proto byte, payload []byte) []byte {
	b := []byte{0x45, 0, 0, 0, 0, 9, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
	binary.BigEndian.PutUint16(b[2:], uint16(20+len(payload)))
	return append(b, payload...)
}

func TestFragments(t *testing.T) {
	// A 40-byte UDP datagram in three IPv4 fragments, sent out of order.
	payload := make([]byte, 32)
	for i := range payload {
		payload[i] = byte(i)
	}
	udp := append([]byte{0x04, 0xd2, 0, 53, 0, 40, 0, 0}, payload...)
	frag := func(off int, more bool, part []byte) []byte {
		b := []byte{0x45, 0, 0, 0, 0, 7, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2}
		binary.BigEndian.PutUint16(b[2:], uint16(20+len(part)))
		fl := uint16(off / 8)
		if more {
			fl |= 0x2000
		}
		binary.BigEndian.PutUint16(b[6:], fl)
		return append(b, part...)
	}
	var r recorder
	d := NewDecoder(&r)
	for _, f := range [][]byte{frag(16, true, udp[16:32]), frag(0, true, udp[:16]), frag(32, false, udp[32:])} {
		d.Decode(f, CaptureInfo{LinkType: LinkRaw}, "t")
	}
	if len(r.pkts) != 1 || !r.pkts[0].Fragment || string(r.pkts[0].Payload) != string(payload) || r.pkts[0].IPLen != 60 {
		t.Fatalf("got %+v", r.pkts)
	}
	// An incomplete datagram times out and is counted.
	d.Decode(frag(0, true, udp[:16]), CaptureInfo{LinkType: LinkRaw, TS: time.Unix(0, 0)}, "t")
	d.Advance(time.Unix(60, 0))
	if d.FragmentStats().TimedOut != 1 || d.frags.Pending() != 0 {
		t.Errorf("stats %+v, pending %d", d.FragmentStats(), d.frags.Pending())
	}
}

func TestMalformed(t *testing.T) {
	for _, c := range []struct {
		name string
		link uint16
		data []byte
		want Reason
	}{
		{"empty ethernet", LinkEthernet, nil, ReasonShortLink},
		{"arp", LinkEthernet, eth(0x0806, make([]byte, 28)), ReasonUnknownEtherType},
		{"short ipv4", LinkRaw, []byte{0x45, 0, 0}, ReasonShortIPv4},
		{"ihl past end", LinkRaw, append([]byte{0x4f}, make([]byte, 30)...), ReasonBadIPv4Header},
		{"bad version", LinkRaw, []byte{0x15, 0, 0, 0}, ReasonBadIPVersion},
		{"short ipv6", LinkRaw, []byte{0x60, 0, 0}, ReasonShortIPv6},
		{"unknown link", 9999, []byte{1}, ReasonUnknownLink},
		{"vlan loop cut", LinkEthernet, eth(0x8100, []byte{0, 1, 0x81}), ReasonShortLink},
	} {
		var r recorder
		d := NewDecoder(&r)
		if got := d.Decode(c.data, CaptureInfo{LinkType: c.link}, "t"); got != c.want {
			t.Errorf("%s: reason %v, want %v", c.name, got, c.want)
		}
	}
}

func TestChecksums(t *testing.T) {
	good := ipv4UDP()
	bad := append([]byte(nil), good...)
	bad[len(bad)-4] = 0xde // a UDP checksum that cannot be right
	for _, c := range []struct {
		data []byte
		want Reason
	}{{good, ReasonNone}, {bad, ReasonBadChecksum}} {
		var r recorder
		d := NewDecoder(&r)
		d.VerifyChecksums = true
		if c.want == ReasonNone {
			// Give the good datagram its real checksum.
			u := c.data[20:]
			u[6], u[7] = 0, 0
			var sum uint32
			sum = uint32(checksum(c.data[12:20], 0)) + 17 + uint32(len(u))
			binary.BigEndian.PutUint16(u[6:], ^checksum(u, sum))
		}
		if got := d.Decode(c.data, CaptureInfo{LinkType: LinkRaw}, "t"); got != c.want {
			t.Errorf("reason %v, want %v", got, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(uint16(LinkEthernet), eth(0x0800, ipv4UDP()))
	f.Add(uint16(LinkRaw), ipv6UDP(17, 0, 1, 4, 0, 0, 0, 0))
	f.Add(uint16(LinkEthernet), eth(0x0800, udpIn(4789, append([]byte{8, 0, 0, 0, 0, 0, 1, 0}, eth(0x0800, ipv4UDP())...))))
	f.Add(uint16(LinkEthernet), eth(0x0800, ipIn(47, append([]byte{0x10, 0, 0x88, 0xbe, 0, 0, 0, 1}, make([]byte, 8)...))))
	f.Add(uint16(LinkSLL2), []byte{0x86, 0xdd})
	f.Fuzz(func(t *testing.T, link uint16, data []byte) {
		var r recorder
		d := NewDecoder(&r)
		d.VerifyChecksums = len(data)%2 == 0
		d.Decode(data, CaptureInfo{LinkType: link}, "fuzz")
		// Feed it twice: fragments and tunnels keep state.
		d.Decode(data, CaptureInfo{LinkType: link, TS: time.Unix(1, 0)}, "fuzz")
		d.Advance(time.Unix(100, 0))
	})
}

type discard struct{}

func (discard) HandlePacket(*Packet) {}
func (discard) Advance(time.Time)    {}
func (discard) Close()               {}

func BenchmarkDecode(b *testing.B) {
	frames := [][]byte{eth(0x0800, ipv4UDP()), eth(0x86dd, ipv6UDP()), vlan(0x0800, 2, ipv4UDP())}
	d := NewDecoder(discard{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d.Decode(frames[i%len(frames)], CaptureInfo{LinkType: LinkEthernet}, "bench")
	}
}
