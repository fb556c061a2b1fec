package decode

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Reason says why a frame was not decoded to the transport layer.
type Reason uint8

// Reasons for malformed or undecodable frames, counted in Stats.
const (
	ReasonNone Reason = iota
	ReasonShortLink
	ReasonUnknownLink
	ReasonUnknownEtherType
	ReasonShortIPv4
	ReasonBadIPv4Header
	ReasonShortIPv6
	ReasonBadIPv6Ext
	ReasonBadIPVersion
	ReasonShortUDP
	ReasonShortTCP
	ReasonShortICMP
	ReasonFragmentDropped
	ReasonTunnelTooDeep
	ReasonBadTunnel
	ReasonBadChecksum
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:             "none",
	ReasonShortLink:        "short link-layer header",
	ReasonUnknownLink:      "unsupported link type",
	ReasonUnknownEtherType: "non-IP ethertype",
	ReasonShortIPv4:        "truncated IPv4 header",
	ReasonBadIPv4Header:    "bad IPv4 header",
	ReasonShortIPv6:        "truncated IPv6 header",
	ReasonBadIPv6Ext:       "bad IPv6 extension header",
	ReasonBadIPVersion:     "bad IP version",
	ReasonShortUDP:         "truncated UDP header",
	ReasonShortTCP:         "truncated TCP header",
	ReasonShortICMP:        "truncated ICMP header",
	ReasonFragmentDropped:  "fragment dropped (reassembly limit or timeout)",
	ReasonTunnelTooDeep:    "too many nested tunnels",
	ReasonBadTunnel:        "bad tunnel header",
	ReasonBadChecksum:      "bad checksum",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Stats counts what the decoder saw. Undecodable counts frames by Reason;
// a non-IP frame (ARP, LLDP, ...) is counted as ReasonUnknownEtherType and
// is not malformed.
type Stats struct {
	Frames      uint64
	ByLink      map[uint16]uint64 // filled from byLink by Decoder.Counts
	byLink      [320]uint64       // LINKTYPE_ values in use are below 300: no map on the hot path
	Decoded     uint64            // packets handed to the handlers
	Fragments   uint64            // IP fragments seen
	Reassembled uint64            // datagrams rebuilt from fragments
	Tunnelled   uint64            // packets decoded from inside a tunnel
	Undecoded   [numReasons]uint64
}

// Malformed returns the counts by reason name, leaving out zero counts.
func (s *Stats) Malformed() map[string]uint64 {
	m := map[string]uint64{}
	for r := Reason(1); r < numReasons; r++ {
		if s.Undecoded[r] > 0 {
			m[r.String()] = s.Undecoded[r]
		}
	}
	return m
}

// maxTunnelDepth bounds nested encapsulations, so a crafted packet that
// tunnels itself cannot recurse without end.
const maxTunnelDepth = 8

// Decoder turns frames into Packets and hands them to its handlers. It
// allocates nothing per packet except when reassembling fragments. It is
// not safe for concurrent use: one Decoder per capture goroutine.
type Decoder struct {
	Handlers []Handler
	Stats    Stats
	// Tunnels enables decapsulation of GRE, VXLAN, Geneve, Teredo, IP-in-IP
	// and MPLS; on by default in NewDecoder.
	Tunnels bool
	// VerifyChecksums drops packets whose IPv4, UDP or TCP checksum is
	// wrong, as Zeek does without -C. Off by default: captures taken on a
	// sending host carry offloaded, unfilled checksums.
	VerifyChecksums bool

	pkt    Packet
	frags  *Reassembler
	outer  []OuterHandler
	teredo map[netip.AddrPort]struct{} // Teredo clients seen talking to port 3544
}

// NewDecoder returns a decoder feeding hs.
func NewDecoder(hs ...Handler) *Decoder {
	d := &Decoder{
		Handlers: hs,
		Stats:    Stats{ByLink: map[uint16]uint64{}},
		Tunnels:  true,
		frags:    NewReassembler(DefaultReassemblyLimits),
	}
	for _, h := range hs {
		if o, ok := h.(OuterHandler); ok {
			d.outer = append(d.outer, o)
		}
	}
	return d
}

// Decode decodes one captured frame and runs the handlers on it. It
// returns the reason when the frame yielded no packet.
func (d *Decoder) Decode(data []byte, ci CaptureInfo, source string) Reason {
	d.Stats.Frames++
	if int(ci.LinkType) < len(d.Stats.byLink) {
		d.Stats.byLink[ci.LinkType]++
	} else {
		d.Stats.ByLink[ci.LinkType]++
	}
	p := &d.pkt
	*p = Packet{TS: ci.TS, LinkType: ci.LinkType, Source: source}
	r := d.link(p, data, ci.LinkType, 0)
	if r != ReasonNone {
		d.Stats.Undecoded[r]++
	}
	return r
}

// Advance passes the clock on to the handlers and expires fragments.
func (d *Decoder) Advance(now time.Time) {
	d.frags.Expire(now)
	for _, h := range d.Handlers {
		h.Advance(now)
	}
}

// Close flushes every handler.
func (d *Decoder) Close() {
	for _, h := range d.Handlers {
		h.Close()
	}
}

// LinkCounts returns frames per link type.
func (d *Decoder) LinkCounts() map[uint16]uint64 {
	m := make(map[uint16]uint64, len(d.Stats.ByLink)+1)
	for l, n := range d.Stats.ByLink {
		m[l] = n
	}
	for l, n := range d.Stats.byLink {
		if n > 0 {
			m[uint16(l)] = n
		}
	}
	return m
}

// FragmentStats returns the reassembler's counters.
func (d *Decoder) FragmentStats() ReassemblyStats { return d.frags.Stats }

func (d *Decoder) link(p *Packet, b []byte, link uint16, depth int) Reason {
	switch link {
	case LinkEthernet:
		return d.ethernet(p, b, depth)
	case LinkRaw, LinkIPv4, LinkIPv6, 12, 14:
		return d.ip(p, b, depth)
	case LinkNull, LinkLoop:
		if len(b) < 4 {
			return ReasonShortLink
		}
		// The family is in the writer's byte order; AF_INET is 2 everywhere,
		// AF_INET6 is 24, 28 or 30 depending on the BSD.
		fam := binary.LittleEndian.Uint32(b)
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(b)
		}
		switch fam {
		case 2, 24, 28, 30:
			return d.ip(p, b[4:], depth)
		}
		return ReasonUnknownEtherType
	case LinkSLL:
		if len(b) < 16 {
			return ReasonShortLink
		}
		return d.etherType(p, binary.BigEndian.Uint16(b[14:]), b[16:], depth)
	case LinkSLL2:
		if len(b) < 20 {
			return ReasonShortLink
		}
		return d.etherType(p, binary.BigEndian.Uint16(b), b[20:], depth)
	case LinkPPP, 50: // PPP, PPP_SERIAL (HDLC-framed PPP)
		return d.ppp(p, b, depth)
	case 10: // FDDI: frame control, addresses, then LLC/SNAP with an ethertype
		if len(b) < 21 {
			return ReasonShortLink
		}
		if b[13] != 0xaa || b[14] != 0xaa || b[15] != 0x03 {
			return ReasonUnknownEtherType
		}
		return d.etherType(p, binary.BigEndian.Uint16(b[19:]), b[21:], depth)
	case 104: // Cisco HDLC
		if len(b) < 4 {
			return ReasonShortLink
		}
		return d.etherType(p, binary.BigEndian.Uint16(b[2:]), b[4:], depth)
	case LinkNFLOG:
		return d.nflog(p, b, depth)
	case Link80211:
		return d.ieee80211(p, b, depth)
	case Link80211Radio:
		return d.radiotap(p, b, depth)
	}
	return ReasonUnknownLink
}

func (d *Decoder) ethernet(p *Packet, b []byte, depth int) Reason {
	if len(b) < 14 {
		return ReasonShortLink
	}
	et := binary.BigEndian.Uint16(b[12:])
	if et <= 1500 {
		// An 802.3 length, not a type: 802.2 LLC follows (SNAP for IP).
		return d.llc(p, b[14:min(len(b), 14+int(et))], depth)
	}
	return d.etherType(p, et, b[14:], depth)
}

// EtherTypes the decoder follows.
const (
	etherIPv4     = 0x0800
	etherIPv6     = 0x86dd
	etherVLAN     = 0x8100
	etherQinQ     = 0x88a8
	etherQinQOld  = 0x9100
	etherMPLS     = 0x8847
	etherMPLSMC   = 0x8848
	etherPPPoE    = 0x8864
	etherTEB      = 0x6558 // transparent Ethernet bridging (GRE, NVGRE)
	etherERSPAN2  = 0x88be
	etherERSPAN3  = 0x22eb
	etherFabric   = 0x8903 // Cisco FabricPath
	etherNSH      = 0x894f
	etherLoopback = 0x9000
)

func (d *Decoder) etherType(p *Packet, et uint16, b []byte, depth int) Reason {
	for {
		switch et {
		case etherIPv4, etherIPv6:
			return d.ip(p, b, depth)
		case etherVLAN, etherQinQ, etherQinQOld:
			if len(b) < 4 {
				return ReasonShortLink
			}
			et, b = binary.BigEndian.Uint16(b[2:]), b[4:]
		case etherPPPoE:
			if len(b) < 6 {
				return ReasonShortLink
			}
			return d.ppp(p, b[6:], depth)
		case etherMPLS, etherMPLSMC:
			return d.mpls(p, b, depth)
		case etherFabric:
			// FabricPath: FTag and TTL after the outer header, then the
			// original Ethernet frame.
			if len(b) < 2 {
				return ReasonShortLink
			}
			return d.ethernet(p, b[2:], depth)
		default:
			return ReasonUnknownEtherType
		}
	}
}

func (d *Decoder) ppp(p *Packet, b []byte, depth int) Reason {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 { // HDLC address and control
		b = b[2:]
	}
	if len(b) < 1 {
		return ReasonShortLink
	}
	var proto uint16
	if b[0]&1 == 1 { // compressed one-byte protocol field
		proto, b = uint16(b[0]), b[1:]
	} else {
		if len(b) < 2 {
			return ReasonShortLink
		}
		proto, b = binary.BigEndian.Uint16(b), b[2:]
	}
	switch proto {
	case 0x21, 0x57: // IPv4, IPv6
		return d.ip(p, b, depth)
	}
	return ReasonUnknownEtherType
}

func (d *Decoder) mpls(p *Packet, b []byte, depth int) Reason {
	for {
		if len(b) < 4 {
			return ReasonShortLink
		}
		bottom := b[2]&1 == 1
		b = b[4:]
		if bottom {
			break
		}
	}
	if len(b) == 0 {
		return ReasonShortLink
	}
	// No payload type in MPLS: guess by the first nibble, as Zeek and
	// Wireshark do; a pseudowire carrying Ethernet starts otherwise.
	switch b[0] >> 4 {
	case 4, 6:
		return d.ip(p, b, depth)
	case 0:
		// Pseudowire control word, then Ethernet.
		if len(b) >= 4 {
			return d.ethernet(p, b[4:], depth)
		}
		return ReasonShortLink
	}
	return d.ethernet(p, b, depth)
}

// ip decodes an IPv4 or IPv6 packet starting at b.
func (d *Decoder) ip(p *Packet, b []byte, depth int) Reason {
	if len(b) < 1 {
		return ReasonShortIPv4
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(p, b, depth)
	case 6:
		return d.ipv6(p, b, depth)
	}
	return ReasonBadIPVersion
}

func (d *Decoder) ipv4(p *Packet, b []byte, depth int) Reason {
	if len(b) < 20 {
		return ReasonShortIPv4
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < 20 || len(b) < ihl {
		return ReasonBadIPv4Header
	}
	if total < ihl {
		// TSO/GSO captures on the sending host write 0; trust the frame.
		if total != 0 {
			return ReasonBadIPv4Header
		}
		total = len(b)
	}
	if d.VerifyChecksums && checksum(b[:ihl], 0) != 0xffff {
		return ReasonBadChecksum
	}
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.Proto = b[9]
	p.TTL = b[8]
	p.IPLen = total
	payload := b[ihl:min(total, len(b))]
	wire := total - ihl
	flags := binary.BigEndian.Uint16(b[6:])
	if flags&0x3fff != 0 { // MF set or non-zero offset: a fragment
		d.Stats.Fragments++
		key := fragKey{src: p.Src, dst: p.Dst, id: uint32(binary.BigEndian.Uint16(b[4:])), proto: p.Proto}
		if total > len(b) {
			return ReasonFragmentDropped // a fragment cut by the snaplen cannot be rebuilt
		}
		whole, done := d.frags.Add(key, p.TS, int(flags&0x1fff)*8, flags&0x2000 != 0, payload)
		if !done {
			return ReasonNone
		}
		d.Stats.Reassembled++
		p.Fragment = true
		p.IPLen = ihl + len(whole)
		payload, wire = whole, len(whole)
	}
	return d.transport(p, payload, wire, depth)
}

func (d *Decoder) ipv6(p *Packet, b []byte, depth int) Reason {
	if len(b) < 40 {
		return ReasonShortIPv6
	}
	plen := int(binary.BigEndian.Uint16(b[4:]))
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	p.TTL = b[7]
	p.IPLen = plen + 40
	if plen == 0 { // jumbogram or TSO: trust the frame
		plen = len(b) - 40
		p.IPLen = len(b)
	}
	next := b[6]
	rest := b[40:min(40+plen, len(b))]
	wire := plen
	for {
		switch next {
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, destination, mobility, HIP, shim6
			if len(rest) < 8 {
				return ReasonBadIPv6Ext
			}
			n := 8 + int(rest[1])*8
			if len(rest) < n {
				return ReasonBadIPv6Ext
			}
			next, rest, wire = rest[0], rest[n:], wire-n
		case 51: // AH: length in 4-byte units
			if len(rest) < 8 {
				return ReasonBadIPv6Ext
			}
			n := (int(rest[1]) + 2) * 4
			if len(rest) < n {
				return ReasonBadIPv6Ext
			}
			next, rest, wire = rest[0], rest[n:], wire-n
		case 44: // fragment
			if len(rest) < 8 {
				return ReasonBadIPv6Ext
			}
			d.Stats.Fragments++
			off := int(binary.BigEndian.Uint16(rest[2:]) &^ 7)
			more := rest[3]&1 == 1
			key := fragKey{src: p.Src, dst: p.Dst, id: binary.BigEndian.Uint32(rest[4:]), proto: rest[0], v6: true}
			inner := rest[0]
			if 40+plen > len(b) {
				return ReasonFragmentDropped
			}
			if off == 0 && !more { // atomic fragment (RFC 6946)
				next, rest, wire = inner, rest[8:], wire-8
				continue
			}
			whole, done := d.frags.Add(key, p.TS, off, more, rest[8:])
			if !done {
				return ReasonNone
			}
			d.Stats.Reassembled++
			p.Fragment = true
			p.IPLen = 40 + len(whole)
			next, rest, wire = inner, whole, len(whole)
		default:
			p.Proto = next
			return d.transport(p, rest, wire, depth)
		}
	}
}

// transport decodes the header of protocol p.Proto at b; wire is its length
// on the wire (b may be shorter when the snaplen cut it).
func (d *Decoder) transport(p *Packet, b []byte, wire int, depth int) Reason {
	if d.VerifyChecksums && !p.Fragment && len(b) >= wire && !validL4(p, b[:wire]) {
		return ReasonBadChecksum
	}
	switch p.Proto {
	case ProtoUDP:
		if len(b) < 8 {
			return ReasonShortUDP
		}
		p.SrcPort = binary.BigEndian.Uint16(b)
		p.DstPort = binary.BigEndian.Uint16(b[2:])
		ulen := int(binary.BigEndian.Uint16(b[4:]))
		if ulen < 8 || ulen > wire {
			ulen = wire // zero (jumbo) or lying length: use the IP payload
		}
		p.PayloadLen = ulen - 8
		p.Payload = b[8:min(ulen, len(b))]
		if d.Tunnels && depth < maxTunnelDepth {
			if r, ok := d.udpTunnel(p, depth); ok {
				return r
			}
		}
	case ProtoTCP:
		if len(b) < 20 {
			return ReasonShortTCP
		}
		off := int(b[12]>>4) * 4
		if off < 20 || off > len(b) {
			return ReasonShortTCP
		}
		p.SrcPort = binary.BigEndian.Uint16(b)
		p.DstPort = binary.BigEndian.Uint16(b[2:])
		p.Seq = binary.BigEndian.Uint32(b[4:])
		p.Ack = binary.BigEndian.Uint32(b[8:])
		p.TCPFlags = b[13] & 0x3f
		p.Window = binary.BigEndian.Uint16(b[14:])
		p.Payload = b[off:]
		p.PayloadLen = max(wire-off, len(p.Payload))
	case ProtoICMP, ProtoICMPv6:
		if len(b) < 4 {
			return ReasonShortICMP
		}
		p.ICMPType, p.ICMPCode = b[0], b[1]
		p.Payload = b[4:]
		p.PayloadLen = max(wire-4, len(p.Payload))
	case 4, 41: // IP-in-IP, 6in4 / 4in6
		if d.Tunnels && depth < maxTunnelDepth {
			return d.inner(p, depth, "ipip", func(q *Packet) Reason { return d.ip(q, b, depth+1) })
		}
		p.Payload, p.PayloadLen = b, wire
	case 47: // GRE
		if d.Tunnels && depth < maxTunnelDepth {
			if r, ok := d.gre(p, b, depth); ok {
				return r
			}
		}
		p.Payload, p.PayloadLen = b, wire
	default:
		p.Payload, p.PayloadLen = b, wire
	}
	d.Stats.Decoded++
	for _, h := range d.Handlers {
		h.HandlePacket(p)
	}
	return ReasonNone
}

// checksum adds b to the ones'-complement sum.
func checksum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}

// validL4 checks the UDP or TCP checksum over the pseudo-header.
func validL4(p *Packet, b []byte) bool {
	if p.Proto != ProtoUDP && p.Proto != ProtoTCP {
		return true
	}
	if p.Proto == ProtoUDP && len(b) >= 8 && b[6] == 0 && b[7] == 0 && p.Src.Is4() {
		return true // no checksum
	}
	var sum uint32
	if p.Src.Is4() {
		s, d := p.Src.As4(), p.Dst.As4()
		sum = uint32(checksum(s[:], 0)) + uint32(checksum(d[:], 0))
	} else {
		s, d := p.Src.As16(), p.Dst.As16()
		sum = uint32(checksum(s[:], 0)) + uint32(checksum(d[:], 0))
	}
	sum += uint32(p.Proto) + uint32(len(b))
	return checksum(b, sum) == 0xffff
}

// Supported tells whether frames of the LINKTYPE_ value link are decoded.
func Supported(link uint16) bool {
	var d Decoder
	return d.link(&Packet{}, nil, link, 0) != ReasonUnknownLink
}
