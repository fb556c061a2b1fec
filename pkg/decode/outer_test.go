package decode

import (
	"encoding/binary"
	"testing"
)

// outerRecorder is a handler that also takes tunnels' outer packets.
type outerRecorder struct {
	recorder
	outer []Packet
}

func (r *outerRecorder) HandleOuter(p *Packet) { r.outer = append(r.outer, *p) }

// udpPorts is a UDP datagram from 10.0.0.1 to 10.0.0.2 with the ports, or
// the other way when back is set.
func udpPorts(back bool, sport, dport uint16, payload []byte) []byte {
	u := binary.BigEndian.AppendUint16(nil, sport)
	u = binary.BigEndian.AppendUint16(u, dport)
	u = binary.BigEndian.AppendUint16(u, uint16(8+len(payload)))
	u = append(u, 0, 0)
	b := ipIn(17, append(u, payload...))
	if back {
		b[15], b[19] = 2, 1
	}
	return b
}

func TestOuterAndParent(t *testing.T) {
	var r outerRecorder
	d := NewDecoder(&r)
	vx := eth(0x0800, udpIn(4789, append([]byte{8, 0, 0, 0, 0, 0, 1, 0}, eth(0x0800, ipv4UDP())...)))
	if got := d.Decode(vx, CaptureInfo{LinkType: LinkEthernet}, "t"); got != ReasonNone {
		t.Fatal(got)
	}
	if len(r.outer) != 1 || r.outer[0].Tunnel != "vxlan" || r.outer[0].DstPort != 4789 {
		t.Fatalf("outer %+v", r.outer)
	}
	if len(r.pkts) != 1 || r.pkts[0].Parent.DstPort != 4789 || r.pkts[0].Parent.Proto != 17 || r.pkts[0].Parent.Src.String() != "10.0.0.1" {
		t.Fatalf("inner %+v", r.pkts)
	}
	// A packet outside any tunnel has no parent.
	r.pkts = nil
	d.Decode(eth(0x0800, ipv4UDP()), CaptureInfo{LinkType: LinkEthernet}, "t")
	if r.pkts[0].Parent.Proto != 0 {
		t.Errorf("parent %+v", r.pkts[0].Parent)
	}
}

// TestTeredoAnyPort: once a client has talked Teredo with a server on port
// 3544, its later Teredo datagrams with a relay on other ports are
// decapsulated by content; the same bytes between strangers stay UDP.
func TestTeredoAnyPort(t *testing.T) {
	var r outerRecorder
	d := NewDecoder(&r)
	inner := ipv6UDP()
	frames := []struct {
		data   []byte
		teredo bool
	}{
		{udpPorts(false, 40000, 5555, inner), false}, // before qualification: plain UDP
		{udpPorts(false, 40000, 3544, inner), true},  // the client talks to a Teredo server
		{udpPorts(true, 5555, 40000, inner), true},   // a relay answers from another port
		{udpPorts(false, 6000, 7000, inner), false},  // strangers
	}
	for i, f := range frames {
		r.pkts, r.outer = nil, nil
		d.Decode(f.data, CaptureInfo{LinkType: LinkRaw}, "t")
		got := len(r.outer) == 1 && r.outer[0].Tunnel == "teredo" && len(r.pkts) == 1 && r.pkts[0].Src.Is6()
		if got != f.teredo {
			t.Errorf("frame %d: teredo %v, want %v (%+v)", i, got, f.teredo, r.pkts)
		}
	}
}
