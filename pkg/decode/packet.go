package decode

import (
	"net/netip"
	"time"
)

// Packet is one decoded IP packet, the unit every analyser (DNS, flows, HTTP,
// TLS) consumes. Its slices point into the capture buffer and are valid only
// until the Handler returns; a handler that keeps bytes copies them.
type Packet struct {
	TS       time.Time
	LinkType uint16 // LINKTYPE_* of the outermost frame
	Source   string // interface or file name

	// Innermost IP header (after decapsulating tunnels).
	Src, Dst netip.Addr
	Proto    uint8 // IP protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6, ...)
	IPLen    int   // IP-level bytes: IPv4 total length, IPv6 payload length + 40
	TTL      uint8
	Fragment bool // reassembled from fragments

	// Transport.
	SrcPort, DstPort uint16
	TCPFlags         uint8 // FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20
	Seq, Ack         uint32
	Window           uint16
	ICMPType         uint8
	ICMPCode         uint8

	// Payload is the transport payload (UDP/TCP data, ICMP body after the
	// 4-byte header) as captured; it may be shorter than the wire length
	// when the snaplen cut it. PayloadLen is the length on the wire.
	Payload    []byte
	PayloadLen int

	// TunnelDepth counts the encapsulations removed (GRE, VXLAN, ...).
	TunnelDepth int
	// Tunnel names the encapsulation this packet carries (vxlan, geneve,
	// teredo, gre, ipip) on an outer packet given to OuterHandlers.
	Tunnel string
	// Parent is the connection of the innermost tunnel this packet came
	// out of; its Proto is 0 for a packet that was not tunnelled.
	Parent Endpoints
}

// Endpoints are a connection's addresses, ports and IP protocol.
type Endpoints struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
}

// An OuterHandler also wants the outer packets of tunnels (the VXLAN,
// Geneve, Teredo or GRE-in-UDP datagram, the GRE or IP-in-IP packet), with
// Tunnel set, before the inner packet goes to every handler. The flow table
// is one: Zeek logs those outer connections too.
type OuterHandler interface {
	HandleOuter(p *Packet)
}

// TCP flag bits as in Packet.TCPFlags.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
	URG = 0x20
)

// IP protocol numbers used across NFR.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// A Handler consumes decoded packets: the DNS analyser, the flow table, the
// HTTP and TLS analysers. Handlers emit events through a callback given when
// they are made, and are called from one goroutine.
type Handler interface {
	// HandlePacket processes one packet.
	HandlePacket(p *Packet)
	// Advance says the clock (capture time for files, the wall clock live)
	// has reached now, so timeouts can fire on a quiet input.
	Advance(now time.Time)
	// Close emits everything still pending, at end of input or shutdown.
	Close()
}

// CaptureInfo describes one captured frame.
type CaptureInfo struct {
	TS       time.Time
	CapLen   int    // bytes captured
	WireLen  int    // bytes on the wire
	LinkType uint16 // LINKTYPE_* (pcapng: of the frame's interface)
	IfIndex  int    // pcapng interface, or the live source's interface number
}

// A Source delivers captured frames: a pcap or pcapng file, libpcap, or an
// AF_PACKET ring. Files and interfaces share one decode path through it.
type Source interface {
	// ReadPacket returns the next frame; data is valid until the next call.
	// It returns io.EOF at the end of a file, or when a live source is closed.
	ReadPacket() (data []byte, ci CaptureInfo, err error)
	// Close releases the source; a blocked ReadPacket returns io.EOF.
	Close() error
}

// Link types (LINKTYPE_* values from the pcap file format).
const (
	LinkNull     = 0   // BSD loopback
	LinkEthernet = 1   // EN10MB
	LinkRaw      = 101 // raw IPv4/IPv6
	LinkPPP      = 9
	LinkLoop     = 108 // OpenBSD loopback
	LinkSLL      = 113 // Linux cooked v1
	LinkSLL2     = 276 // Linux cooked v2
	LinkIPv4     = 228
	LinkIPv6     = 229
)
