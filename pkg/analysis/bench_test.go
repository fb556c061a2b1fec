package analysis

import (
	"net/netip"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
)

// mixed builds interleaved traffic: HTTP and TLS connections of a dozen
// packets each (handshake, request, three 1400-byte response segments,
// close), DNS-sized UDP exchanges and pings.
func mixed(conns int) []decode.Packet {
	type seg struct {
		fromClient bool
		flags      uint8
		payload    []byte
	}
	body := make([]byte, 1400)
	httpReq := []byte("GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: bench/1.0\r\n\r\n")
	httpResp := append([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 4200\r\n\r\n"), body[:1400-66]...)
	hello := []byte{22, 3, 1, 0, 48, 1, 0, 0, 44, 3, 3}
	hello = append(hello, make([]byte, 32)...)
	hello = append(hello, 0, 0, 2, 0x13, 0x01, 1, 0)
	const A, S, F, P = decode.ACK, decode.SYN, decode.FIN, decode.PSH
	var out []decode.Packet
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	client := netip.MustParseAddr("10.1.0.1")
	server := netip.MustParseAddr("192.0.2.10")
	var script [][]seg
	for i := 0; i < conns; i++ {
		first := httpReq
		resp := httpResp
		if i%2 == 1 {
			first, resp = hello, body
		}
		script = append(script, []seg{{true, S, nil}, {false, S | A, nil}, {true, A, nil}, {true, A | P, first},
			{false, A, resp}, {false, A, body}, {false, A, body}, {true, A, nil}, {true, F | A, nil}, {false, F | A, nil}, {true, A, nil}})
	}
	seq := make([][2]uint32, conns)
	n := 0
	for step := 0; step < 11; step++ {
		for i := range script {
			s := script[i][step]
			p := decode.Packet{TS: t0.Add(time.Duration(n) * time.Microsecond), Proto: decode.ProtoTCP, Src: client, Dst: server,
				SrcPort: uint16(10000 + i), DstPort: 80, TCPFlags: s.flags, Payload: s.payload, PayloadLen: len(s.payload),
				IPLen: 40 + len(s.payload), Window: 1000}
			if i%2 == 1 {
				p.DstPort = 443
			}
			d := 0
			if !s.fromClient {
				d = 1
				p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
			}
			p.Seq = seq[i][d]
			p.Ack = seq[i][1-d]
			seq[i][d] += uint32(len(s.payload))
			if s.flags&(S|F) != 0 {
				seq[i][d]++
			}
			out = append(out, p)
			n++
			if n%8 == 0 { // a DNS-sized UDP exchange and a ping now and then
				u := decode.Packet{TS: p.TS, Proto: decode.ProtoUDP, Src: client, Dst: server, SrcPort: uint16(20000 + n%5000),
					DstPort: 53, Payload: make([]byte, 40), PayloadLen: 40, IPLen: 68}
				out = append(out, u)
				u.Src, u.Dst, u.SrcPort, u.DstPort = u.Dst, u.Src, u.DstPort, u.SrcPort
				out = append(out, u)
				out = append(out, decode.Packet{TS: p.TS, Proto: decode.ProtoICMP, Src: client, Dst: server, ICMPType: 8,
					Payload: []byte{0, byte(n), 0, 1}, PayloadLen: 56, IPLen: 84})
			}
		}
	}
	return out
}

// BenchmarkSet runs every analyser (flows, one reassembler shared by HTTP
// and TLS, QUIC) over mixed traffic, as nfr-capture will; ns/op is per
// packet.
func BenchmarkSet(b *testing.B) {
	ps := mixed(2000)
	events := 0
	emit := func(*event.Event) { events++ }
	s := New(Config{Types: Types{IP: true, HTTP: true, TLS: true, SSH: true}}, emit)
	b.ReportAllocs()
	b.ResetTimer()
	round := time.Duration(0)
	for i := 0; i < b.N; i++ {
		k := i % len(ps)
		if k == 0 && i > 0 {
			round += time.Second // the next round: new ports, later time
		}
		p := ps[k]
		p.TS = p.TS.Add(round)
		if p.Proto == decode.ProtoTCP {
			off := uint16(i/len(ps)) * 2000
			if p.DstPort == 80 || p.DstPort == 443 {
				p.SrcPort += off
			} else {
				p.DstPort += off
			}
		}
		s.HandlePacket(&p)
	}
	b.StopTimer()
	s.Close()
	b.ReportMetric(float64(events)/float64(b.N), "events/pkt")
}
