package decode

import (
	"encoding/binary"
	"net/netip"
)

// UDP ports of the UDP-carried encapsulations.
const (
	portVXLAN     = 4789
	portGeneve    = 6081
	portTeredo    = 3544
	portGREoverUD = 4754 // GRE-in-UDP, RFC 8086
)

// inner decodes an encapsulated packet in place of the outer one: the
// handlers see the innermost connection, as Zeek logs it, with the outer
// capture time and source.
func (d *Decoder) inner(p *Packet, depth int, tunnel string, decode func(*Packet) Reason) Reason {
	parent := Endpoints{Src: p.Src, Dst: p.Dst, SrcPort: p.SrcPort, DstPort: p.DstPort, Proto: p.Proto}
	if len(d.outer) > 0 {
		p.Tunnel = tunnel
		for _, h := range d.outer {
			h.HandleOuter(p)
		}
	}
	*p = Packet{TS: p.TS, LinkType: p.LinkType, Source: p.Source, TunnelDepth: depth + 1, Parent: parent}
	d.Stats.Tunnelled++
	return decode(p)
}

// udpTunnel decapsulates VXLAN, Geneve, Teredo and GRE-in-UDP. ok is false
// when the datagram is not one of them, so it is handled as plain UDP.
func (d *Decoder) udpTunnel(p *Packet, depth int) (Reason, bool) {
	b := p.Payload // may be cut by the snaplen: the inner decoders check lengths
	switch {
	// Headers are checked strictly (reserved bits zero, known payload
	// types): these ports are also ordinary ephemeral ports, and a DNS
	// response to client port 4789 must stay DNS.
	case p.DstPort == portVXLAN:
		if len(b) < 8 || b[0] != 0x08 || b[1]|b[2]|b[3]|b[7] != 0 {
			return ReasonNone, false
		}
		return d.inner(p, depth, "vxlan", func(q *Packet) Reason { return d.ethernet(q, b[8:], depth+1) }), true
	case p.DstPort == portGeneve:
		if len(b) < 8 || b[0]>>6 != 0 || b[7] != 0 {
			return ReasonNone, false
		}
		n := 8 + int(b[0]&0x3f)*4
		et := binary.BigEndian.Uint16(b[2:])
		if len(b) < n || (et != etherTEB && et != etherIPv4 && et != etherIPv6) {
			return ReasonNone, false
		}
		return d.inner(p, depth, "geneve", func(q *Packet) Reason {
			if et == etherTEB {
				return d.ethernet(q, b[n:], depth+1)
			}
			return d.etherType(q, et, b[n:], depth+1)
		}), true
	case p.DstPort == portTeredo || p.SrcPort == portTeredo || d.teredoPeer(p):
		inner, ok := teredo(b)
		if !ok {
			return ReasonNone, false
		}
		d.learnTeredo(p)
		return d.inner(p, depth, "teredo", func(q *Packet) Reason { return d.ipv6(q, inner, depth+1) }), true
	case p.DstPort == portGREoverUD:
		if r, ok := d.gre(p, b, depth); ok && r != ReasonBadTunnel {
			return r, true
		}
		return ReasonNone, false
	}
	return ReasonNone, false
}

// teredo strips the optional authentication and origin indication headers
// and accepts the rest only when it is a consistent IPv6 packet, since port
// 3544 also carries Teredo's own bubbles and other traffic.
func teredo(b []byte) ([]byte, bool) {
	for len(b) >= 2 && b[0] == 0 {
		switch b[1] {
		case 1: // authentication
			if len(b) < 4 {
				return nil, false
			}
			n := 4 + int(b[2]) + int(b[3]) + 9
			if len(b) < n {
				return nil, false
			}
			b = b[n:]
		case 0: // origin indication
			if len(b) < 8 {
				return nil, false
			}
			b = b[8:]
		default:
			return nil, false
		}
	}
	if len(b) < 40 || b[0]>>4 != 6 || int(binary.BigEndian.Uint16(b[4:]))+40 != len(b) {
		return nil, false
	}
	return b, true
}

// gre decapsulates GRE (RFC 2784/2890), PPTP's enhanced GRE, and ERSPAN
// types I, II and III.
func (d *Decoder) gre(p *Packet, b []byte, depth int) (Reason, bool) {
	if len(b) < 4 {
		return ReasonBadTunnel, true
	}
	flags := binary.BigEndian.Uint16(b)
	proto := binary.BigEndian.Uint16(b[2:])
	version := flags & 7
	n := 4
	if version > 1 {
		return ReasonBadTunnel, true
	}
	if flags&0x8000 != 0 || flags&0x4000 != 0 { // checksum or routing present
		n += 4
	}
	if flags&0x2000 != 0 { // key
		n += 4
	}
	seq := flags&0x1000 != 0
	if seq {
		n += 4
	}
	if version == 1 && flags&0x0080 != 0 { // PPTP acknowledgement
		n += 4
	}
	if len(b) < n {
		return ReasonBadTunnel, true
	}
	b = b[n:]
	var dec func(*Packet) Reason
	switch proto {
	case etherIPv4, etherIPv6:
		dec = func(q *Packet) Reason { return d.ip(q, b, depth+1) }
	case etherTEB:
		dec = func(q *Packet) Reason { return d.ethernet(q, b, depth+1) }
	case etherMPLS, etherMPLSMC:
		dec = func(q *Packet) Reason { return d.mpls(q, b, depth+1) }
	case 0x880b: // PPP (PPTP)
		if len(b) == 0 {
			// PPTP acknowledgements carry no payload.
			return ReasonNone, false
		}
		dec = func(q *Packet) Reason { return d.ppp(q, b, depth+1) }
	case etherERSPAN2:
		if seq { // ERSPAN type II has an 8-byte header; type I has none
			if len(b) < 8 {
				return ReasonBadTunnel, true
			}
			b = b[8:]
		}
		dec = func(q *Packet) Reason { return d.ethernet(q, b, depth+1) }
	case etherERSPAN3:
		if len(b) < 12 {
			return ReasonBadTunnel, true
		}
		h := 12
		if b[11]&1 != 0 { // optional platform-specific subheader
			h += 8
		}
		if len(b) < h {
			return ReasonBadTunnel, true
		}
		b = b[h:]
		dec = func(q *Packet) Reason { return d.ethernet(q, b, depth+1) }
	default:
		return ReasonNone, false
	}
	return d.inner(p, depth, "gre", dec), true
}

// maxTeredoPeers bounds the Teredo clients remembered.
const maxTeredoPeers = 4096

// learnTeredo remembers the client side of a Teredo exchange with a server
// or relay on port 3544: relays answer it later from whatever port its NAT
// mapping has, and Zeek follows it by content from then on.
func (d *Decoder) learnTeredo(p *Packet) {
	var client netip.AddrPort
	switch {
	case p.DstPort == portTeredo && p.SrcPort != portTeredo:
		client = netip.AddrPortFrom(p.Src, p.SrcPort)
	case p.SrcPort == portTeredo && p.DstPort != portTeredo:
		client = netip.AddrPortFrom(p.Dst, p.DstPort)
	default:
		return
	}
	if d.teredo == nil || len(d.teredo) >= maxTeredoPeers {
		d.teredo = make(map[netip.AddrPort]struct{})
	}
	d.teredo[client] = struct{}{}
}

// teredoPeer says whether either end of p is a known Teredo client.
func (d *Decoder) teredoPeer(p *Packet) bool {
	if len(d.teredo) == 0 {
		return false
	}
	_, a := d.teredo[netip.AddrPortFrom(p.Src, p.SrcPort)]
	_, b := d.teredo[netip.AddrPortFrom(p.Dst, p.DstPort)]
	return a || b
}
