// Package pcaptest is test scaffolding for the analysers: it reads a pcap or
// pcapng file with gopacket and fills decode.Packet, so the flow, HTTP, TLS
// and QUIC analysers can be tested on the reference captures before the real
// decoder is wired in. It handles Ethernet/VLAN/SLL/raw IP, IPv4/IPv6 and
// TCP/UDP/ICMP only.
package pcaptest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/nfr-project/nfr/pkg/decode"
)

type reader interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

// Packets returns every decodable IP packet of the capture at path.
// Payload slices are owned by the returned packets.
func Packets(t testing.TB, path string) []decode.Packet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = zr
	}
	ps, err := Read(r)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return ps
}

// Read decodes a pcap or pcapng stream.
func Read(r io.Reader) ([]decode.Packet, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, err
	}
	var rd reader
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, err
		}
		rd = ng
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, err
		}
		rd = pr
	}
	var out []decode.Packet
	for {
		data, ci, err := rd.ReadPacketData()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, nil // truncated file: keep what we have
		}
		lt := rd.LinkType()
		if ng, ok := rd.(*pcapgo.NgReader); ok && ci.InterfaceIndex >= 0 {
			if intf, err := ng.Interface(ci.InterfaceIndex); err == nil {
				lt = intf.LinkType
			}
		}
		p, ok := decodeFrame(append([]byte(nil), data...), lt)
		if !ok {
			continue
		}
		p.TS = ci.Timestamp
		p.LinkType = uint16(lt)
		out = append(out, p)
	}
}

func decodeFrame(data []byte, lt layers.LinkType) (decode.Packet, bool) {
	var first gopacket.Decoder
	switch lt {
	case layers.LinkTypeEthernet:
		first = layers.LayerTypeEthernet
	case layers.LinkTypeLinuxSLL:
		first = layers.LayerTypeLinuxSLL
	case layers.LinkTypeRaw, 228, 229:
		if len(data) > 0 && data[0]>>4 == 6 {
			first = layers.LayerTypeIPv6
		} else {
			first = layers.LayerTypeIPv4
		}
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		first = layers.LayerTypeLoopback
	case layers.LinkTypeIEEE80211Radio:
		first = layers.LayerTypeRadioTap
	case layers.LinkTypeIEEE802_11:
		first = layers.LayerTypeDot11
	case 239: // NFLOG: TLVs after a 4-byte header; type 9 holds the packet
		b := data[min(4, len(data)):]
		for len(b) >= 4 {
			n, typ := int(b[0])|int(b[1])<<8, int(b[2])|int(b[3])<<8
			if n < 4 || n > len(b) {
				return decode.Packet{}, false
			}
			if typ == 9 {
				return decodeFrame(b[4:n], layers.LinkTypeRaw)
			}
			b = b[min((n+3)&^3, len(b)):]
		}
		return decode.Packet{}, false
	default:
		return decode.Packet{}, false
	}
	pkt := gopacket.NewPacket(data, first, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	var p decode.Packet
	var transport []byte
	inner, depth := innermost(pkt)
	p.TunnelDepth = depth
	switch ip := inner.(type) {
	case *layers.IPv4:
		p.Src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		p.Dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		p.Proto = uint8(ip.Protocol)
		p.IPLen = int(ip.Length)
		p.TTL = ip.TTL
		if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
			return p, false
		}
		transport = ip.Payload
	case *layers.IPv6:
		p.Src, _ = netip.AddrFromSlice(ip.SrcIP)
		p.Dst, _ = netip.AddrFromSlice(ip.DstIP)
		p.IPLen = int(ip.Length) + 40
		p.TTL = ip.HopLimit
		p.Proto = uint8(ip.NextHeader)
		transport = ip.Payload
		// Skip extension headers gopacket decoded as layers.
		for _, l := range pkt.Layers() {
			switch e := l.(type) {
			case *layers.IPv6HopByHop:
				p.Proto = uint8(e.NextHeader)
				transport = e.Payload
			case *layers.IPv6Destination:
				p.Proto = uint8(e.NextHeader)
				transport = e.Payload
			case *layers.IPv6Fragment:
				return p, false
			}
		}
	default:
		return p, false
	}
	if !p.Src.IsValid() || !p.Dst.IsValid() {
		return p, false // a header cut short
	}
	wire := p.IPLen
	switch p.Proto {
	case decode.ProtoTCP:
		if len(transport) < 20 {
			return p, false
		}
		off := int(transport[12]>>4) * 4
		if off < 20 || off > len(transport) {
			return p, false
		}
		p.SrcPort = uint16(transport[0])<<8 | uint16(transport[1])
		p.DstPort = uint16(transport[2])<<8 | uint16(transport[3])
		p.Seq = be32(transport[4:])
		p.Ack = be32(transport[8:])
		p.TCPFlags = transport[13] & 0x3f
		p.Window = uint16(transport[14])<<8 | uint16(transport[15])
		p.Payload = transport[off:]
		p.PayloadLen = wire - ipHeaderLen(pkt) - off
	case decode.ProtoUDP:
		if len(transport) < 8 {
			return p, false
		}
		p.SrcPort = uint16(transport[0])<<8 | uint16(transport[1])
		p.DstPort = uint16(transport[2])<<8 | uint16(transport[3])
		p.Payload = transport[8:]
		p.PayloadLen = int(uint16(transport[4])<<8|uint16(transport[5])) - 8
	case decode.ProtoICMP, decode.ProtoICMPv6:
		if len(transport) < 4 {
			return p, false
		}
		p.ICMPType, p.ICMPCode = transport[0], transport[1]
		p.Payload = transport[4:]
		p.PayloadLen = wire - ipHeaderLen(pkt) - 4
	default:
		p.Payload = transport
		p.PayloadLen = wire - ipHeaderLen(pkt)
	}
	if len(p.Payload) > p.PayloadLen && p.PayloadLen >= 0 {
		p.Payload = p.Payload[:p.PayloadLen] // Ethernet padding
	}
	if p.PayloadLen < 0 {
		p.PayloadLen = len(p.Payload)
	}
	return p, true
}

// innermost returns the last IP layer gopacket decoded (inside GRE, VXLAN,
// Geneve, MPLS, IP-in-IP), as pkg/decode hands the innermost packet to the
// analysers, and how many IP layers enclose it.
func innermost(pkt gopacket.Packet) (gopacket.Layer, int) {
	var last gopacket.Layer
	n := 0
	for _, l := range pkt.Layers() {
		switch l.(type) {
		case *layers.IPv4, *layers.IPv6:
			last = l
			n++
		}
	}
	if n == 0 {
		return nil, 0
	}
	return last, n - 1
}

func ipHeaderLen(pkt gopacket.Packet) int {
	inner, _ := innermost(pkt)
	switch ip := inner.(type) {
	case *layers.IPv4:
		return int(ip.IHL) * 4
	case *layers.IPv6:
		return 40 + extLen(pkt)
	}
	return 0
}

func extLen(pkt gopacket.Packet) int {
	n := 0
	for _, l := range pkt.Layers() {
		switch l.(type) {
		case *layers.IPv6HopByHop, *layers.IPv6Destination:
			n += len(l.LayerContents())
		}
	}
	return n
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Captures returns the capture files (pcap, pcapng, gzipped) in dir.
func Captures(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.pcap.gz", "*.pcapng.gz", "*.trace"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no capture", dir)
	}
	return out
}

// Run feeds packets to h and closes it.
func Run(h decode.Handler, ps []decode.Packet) {
	for i := range ps {
		h.HandlePacket(&ps[i])
	}
	h.Close()
}
