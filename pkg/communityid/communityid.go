// Package communityid computes the Community ID v1 flow hash
// (github.com/corelight/community-id-spec), the string Zeek, Suricata,
// Arkime and Elastic share to name one flow, so an NFR event can be
// pivoted back to the sensors' records: "1:" and the base64 of
// SHA-1(seed, lower endpoint address, higher address, protocol, 0, lower
// port, higher port), the endpoints ordered so both directions hash alike.
// ICMP type and code stand in for the ports as Zeek maps them: a message
// with a counterpart (echo request and reply, ...) hashes as the pair, any
// other as a one-way flow whose endpoints are not reordered.
package communityid

import (
	"crypto/sha1"
	"encoding/base64"
	"net/netip"
	"strconv"

	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
)

// IP protocol numbers that change how the ports are read.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
	protoSCTP   = 132
)

// ICMP and ICMPv6 message types with a counterpart, both ways, as in the
// specification's reference implementation (after Zeek).
var icmp4Pairs = map[uint8]uint8{8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17}
var icmp6Pairs = map[uint8]uint8{128: 129, 129: 128, 130: 131, 131: 130, 133: 134, 134: 133,
	135: 136, 136: 135, 139: 140, 140: 139, 144: 145, 145: 144}

// Ports returns the values an ICMP message of type t and code c hashes as
// its ports, and whether it is one-way.
func Ports(proto, t, c uint8) (sport, dport uint16, oneWay bool) {
	pairs := icmp4Pairs
	if proto == protoICMPv6 {
		pairs = icmp6Pairs
	}
	if r, ok := pairs[t]; ok {
		return uint16(t), uint16(r), false
	}
	return uint16(t), uint16(c), true
}

// Hash returns the Community ID v1 (seed 0) of a flow. For TCP, UDP and
// SCTP sport and dport are the ports; for ICMP and ICMPv6 pass the type
// and code of the message (Ports maps them); other protocols ignore them.
// Invalid addresses give "".
func Hash(src, dst netip.Addr, proto uint8, sport, dport uint16) string {
	var buf [36]byte
	return string(Append(buf[:0], 0, src, dst, proto, sport, dport))
}

// Append appends the Community ID with the given seed (0 unless the
// sensors were configured otherwise) to b; it allocates nothing when b has
// room for 30 more bytes.
func Append(b []byte, seed uint16, src, dst netip.Addr, proto uint8, sport, dport uint16) []byte {
	if !src.IsValid() || !dst.IsValid() {
		return b
	}
	src, dst = src.Unmap(), dst.Unmap()
	if src.Is4() != dst.Is4() {
		return b
	}
	oneWay := false
	switch proto {
	case protoTCP, protoUDP, protoSCTP:
	case protoICMP, protoICMPv6:
		sport, dport, oneWay = Ports(proto, uint8(sport), uint8(dport))
	default:
		sport, dport = 0, 0
	}
	if !oneWay {
		if c := src.Compare(dst); c > 0 || c == 0 && sport > dport {
			src, dst, sport, dport = dst, src, dport, sport
		}
	}
	var in [2 + 16 + 16 + 2 + 4]byte
	in[0], in[1] = byte(seed>>8), byte(seed)
	n := 2
	if src.Is4() {
		a, d := src.As4(), dst.As4()
		n += copy(in[n:], a[:])
		n += copy(in[n:], d[:])
	} else {
		a, d := src.As16(), dst.As16()
		n += copy(in[n:], a[:])
		n += copy(in[n:], d[:])
	}
	in[n], in[n+1] = proto, 0
	n += 2
	hasPorts := proto == protoTCP || proto == protoUDP || proto == protoSCTP || proto == protoICMP || proto == protoICMPv6
	if hasPorts {
		in[n], in[n+1], in[n+2], in[n+3] = byte(sport>>8), byte(sport), byte(dport>>8), byte(dport)
		n += 4
	}
	sum := sha1.Sum(in[:n])
	b = append(b, '1', ':')
	return base64.StdEncoding.AppendEncode(b, sum[:])
}

// Stamp sets e.CommunityID from its endpoints and protocol when it has
// none; events without both addresses, or with an unknown protocol, keep
// none.
func Stamp(e *event.Event) {
	if proto, sp, dp, ok := endpoints(e); ok {
		e.CommunityID = Hash(e.SrcIP, e.DestIP, proto, sp, dp)
	}
}

// A Stamper does what Stamp does for a goroutine that stamps many events
// (nfr-capture's encoder): the ID strings come out of an arena, one
// allocation per block of a thousand instead of one each.
type Stamper struct {
	arena event.Arena
	buf   [32]byte
}

// Stamp sets e.CommunityID as the function Stamp does.
func (s *Stamper) Stamp(e *event.Event) {
	if proto, sp, dp, ok := endpoints(e); ok {
		e.CommunityID = s.arena.String(Append(s.buf[:0], 0, e.SrcIP, e.DestIP, proto, sp, dp))
	}
}

// endpoints returns what the Community ID of e hashes besides the
// addresses; ok is false when e already has one, or cannot have one.
func endpoints(e *event.Event) (proto uint8, sp, dp uint16, ok bool) {
	if e.CommunityID != "" || !e.SrcIP.IsValid() || !e.DestIP.IsValid() {
		return 0, 0, 0, false
	}
	sp, dp = e.SrcPort, e.DestPort
	switch e.Proto {
	case "tcp":
		proto = protoTCP
	case "udp":
		proto = protoUDP
	case "icmp", "icmp6":
		proto = protoICMP
		if e.Proto == "icmp6" {
			proto = protoICMPv6
		}
		if e.ICMPType == nil || e.ICMPCode == nil {
			return 0, 0, 0, false
		}
		sp, dp = uint16(*e.ICMPType), uint16(*e.ICMPCode)
	default:
		n, err := strconv.ParseUint(e.Proto, 10, 8)
		if err != nil {
			return 0, 0, 0, false
		}
		proto = uint8(n)
	}
	return proto, sp, dp, true
}

// Parent is the Community ID of the tunnel connection a packet came out of
// (decode.Packet.Parent), "" and no work outside tunnels.
func Parent(pp decode.Endpoints) string {
	if pp.Proto == 0 {
		return ""
	}
	return Hash(pp.Src, pp.Dst, pp.Proto, pp.SrcPort, pp.DstPort)
}
