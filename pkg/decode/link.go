package decode

import "encoding/binary"

// More link types (LINKTYPE_* values).
const (
	Link80211        = 105 // IEEE 802.11 frames without a radio header (monitor mode)
	Link80211Radio   = 127 // 802.11 behind a radiotap header
	LinkNFLOG        = 239 // Linux netfilter NFLOG (tcpdump -i nflog, iptables -j NFLOG)
	Link80211Prism   = 119
	Link80211AVS     = 163
	nflogTypePayload = 9 // NFULA_PAYLOAD: the packet, from its network header
)

// nflog walks the NFLOG TLVs (RFC-less: see libpcap's pcap/nflog.h) to the
// payload. The header is family, version, resource id; each TLV is a
// length and a type in host byte order (little-endian on the machines that
// write them; a big-endian file's lengths are told apart by size), padded to
// four bytes.
func (d *Decoder) nflog(p *Packet, b []byte, depth int) Reason {
	if len(b) < 4 {
		return ReasonShortLink
	}
	b = b[4:]
	for len(b) >= 4 {
		l, t := int(binary.LittleEndian.Uint16(b)), binary.LittleEndian.Uint16(b[2:])
		if l > len(b) || l < 4 {
			// A big-endian writer.
			l, t = int(binary.BigEndian.Uint16(b)), binary.BigEndian.Uint16(b[2:])
		}
		if l < 4 || l > len(b) {
			return ReasonShortLink
		}
		if t&0x7fff == nflogTypePayload {
			return d.ip(p, b[4:l], depth)
		}
		l = (l + 3) &^ 3
		if l > len(b) {
			break
		}
		b = b[l:]
	}
	return ReasonUnknownEtherType // a NFLOG message without a packet
}

// llc reads an 802.2 LLC header: SNAP (AA AA 03, an OUI and an ethertype)
// carries an ethertype; other SAPs (spanning tree, NetBIOS, ...) are not IP.
func (d *Decoder) llc(p *Packet, b []byte, depth int) Reason {
	if len(b) < 3 {
		return ReasonShortLink
	}
	if b[0] == 0xaa && b[1] == 0xaa && b[2] == 0x03 {
		if len(b) < 8 {
			return ReasonShortLink
		}
		return d.etherType(p, binary.BigEndian.Uint16(b[6:]), b[8:], depth)
	}
	if b[0] == 0x06 && b[1] == 0x06 { // IP SAP, rare
		return d.ip(p, b[3:], depth)
	}
	return ReasonUnknownEtherType
}

// radiotap skips a radiotap header (version 0, its length little-endian at
// offset 2) and reads the 802.11 frame behind it. A frame whose FCS is
// included keeps it at the end, where the IP length leaves it out.
func (d *Decoder) radiotap(p *Packet, b []byte, depth int) Reason {
	if len(b) < 8 || b[0] != 0 {
		return ReasonShortLink
	}
	n := int(binary.LittleEndian.Uint16(b[2:]))
	if n < 8 || n > len(b) {
		return ReasonShortLink
	}
	return d.ieee80211(p, b[n:], depth)
}

// ieee80211 reads an 802.11 data frame: its header (24 bytes, 30 with four
// addresses, plus QoS and HT control), then LLC/SNAP. Management and
// control frames, null data and protected (encrypted) frames carry no IP we
// can read.
func (d *Decoder) ieee80211(p *Packet, b []byte, depth int) Reason {
	if len(b) < 24 {
		return ReasonShortLink
	}
	fc0, fc1 := b[0], b[1]
	if fc0>>2&3 != 2 || fc0&0x0c == 0x0c { // not a data frame (type 2)
		return ReasonUnknownEtherType
	}
	sub := fc0 >> 4
	if sub&0x4 != 0 { // null data, CF-ack/poll without data
		return ReasonUnknownEtherType
	}
	if fc1&0x40 != 0 { // protected: encrypted payload
		return ReasonUnknownEtherType
	}
	h := 24
	if fc1&0x03 == 0x03 { // ToDS and FromDS: four addresses
		h += 6
	}
	if sub&0x8 != 0 { // QoS data
		h += 2
		if fc1&0x80 != 0 { // +HTC
			h += 4
		}
	}
	if len(b) < h {
		return ReasonShortLink
	}
	return d.llc(p, b[h:], depth)
}
