// Package traffic builds synthetic network traffic for nfr-score's tests:
// the same conversations written as real packets (a pcap file, through
// gopacket's layers and pcapgo) and as the events nfr-capture emits for
// them, so the engine can be tested before and after the capture stage.
package traffic

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/netip"
	"sort"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/nfr-project/nfr/pkg/event"
)

// Gen accumulates packets and events of one or more scenarios.
type Gen struct {
	Rand   *rand.Rand
	pkts   []packet
	events []event.Event
	sport  uint16
	dnsID  uint16
}

type packet struct {
	ts     time.Time
	data   []byte
	length int // original length when data is truncated
}

// New returns a generator with a fixed seed, so output is reproducible.
func New(seed int64) *Gen {
	return &Gen{Rand: rand.New(rand.NewSource(seed)), sport: 40000, dnsID: 1}
}

// Resolver is the local DNS server every scenario uses.
var Resolver = netip.MustParseAddr("10.0.0.2")

var (
	macClient = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	macGW     = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

func (g *Gen) nextPort() uint16 {
	g.sport++
	if g.sport < 40000 {
		g.sport = 40000
	}
	return g.sport
}

func ipLayers(src, dst netip.Addr, proto layers.IPProtocol) (gopacket.SerializableLayer, gopacket.SerializableLayer, gopacket.NetworkLayer) {
	eth := &layers.Ethernet{SrcMAC: macClient, DstMAC: macGW, EthernetType: layers.EthernetTypeIPv4}
	if src.Is6() {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		return eth, ip, ip
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice(), Flags: layers.IPv4DontFragment}
	return eth, ip, ip
}

func (g *Gen) write(ts time.Time, ls ...gopacket.SerializableLayer) {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(err)
	}
	b := append([]byte(nil), buf.Bytes()...)
	p := packet{ts: ts, data: b, length: len(b)}
	// Bulk segments are kept to their headers, as a capture with a short
	// snap length would, so an upload of megabytes stays small on disk.
	if len(b) > 1600 {
		p.data = b[:128]
	}
	g.pkts = append(g.pkts, p)
}

// DNS writes one lookup and its answer (rcode NOERROR with answers, or
// NXDOMAIN) and the dns event.
func (g *Gen) DNS(ts time.Time, src netip.Addr, q string, qtype layers.DNSType, rcode layers.DNSResponseCode, answers ...string) {
	sport := g.nextPort()
	g.dnsID++
	id := g.dnsID
	question := layers.DNSQuestion{Name: []byte(q), Type: qtype, Class: layers.DNSClassIN}
	{
		eth, ip, nl := ipLayers(src, Resolver, layers.IPProtocolUDP)
		udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: 53}
		udp.SetNetworkLayerForChecksum(nl)
		dns := &layers.DNS{ID: id, RD: true, QDCount: 1, Questions: []layers.DNSQuestion{question}}
		g.write(ts, eth, ip, udp, dns)
	}
	rts := ts.Add(time.Duration(5+g.Rand.Intn(20)) * time.Millisecond)
	ev := event.Event{Type: event.TypeDNS, V: 1, TS: ts, SrcIP: src, SrcPort: sport, DestIP: Resolver, DestPort: 53,
		Proto: "udp", Query: q, QType: qtype.String(), RCode: rcodeName(rcode)}
	eth, ip, nl := ipLayers(Resolver, src, layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: 53, DstPort: layers.UDPPort(sport)}
	udp.SetNetworkLayerForChecksum(nl)
	dns := &layers.DNS{ID: id, QR: true, RD: true, RA: true, ResponseCode: rcode, QDCount: 1, Questions: []layers.DNSQuestion{question}}
	for _, a := range answers {
		rr := layers.DNSResourceRecord{Name: []byte(q), Class: layers.DNSClassIN, TTL: 300}
		if addr, err := netip.ParseAddr(a); err == nil {
			rr.IP = addr.AsSlice()
			rr.Type = layers.DNSTypeA
			if addr.Is6() {
				rr.Type = layers.DNSTypeAAAA
			}
		} else if qtype == layers.DNSTypeTXT {
			rr.Type = layers.DNSTypeTXT
			rr.TXTs = [][]byte{[]byte(a)}
		} else if qtype == layers.DNSTypeMX {
			rr.Type = layers.DNSTypeMX
			rr.MX = layers.DNSMX{Preference: 10, Name: []byte(a)}
		} else {
			rr.Type = layers.DNSTypeCNAME
			rr.CNAME = []byte(a)
		}
		dns.Answers = append(dns.Answers, rr)
		dns.ANCount++
		ev.Answers = append(ev.Answers, a)
		ev.TTLs = append(ev.TTLs, 300)
	}
	g.write(rts, eth, ip, udp, dns)
	g.events = append(g.events, ev)
}

func rcodeName(r layers.DNSResponseCode) string {
	switch r {
	case layers.DNSResponseCodeNoErr:
		return "NOERROR"
	case layers.DNSResponseCodeNXDomain:
		return "NXDOMAIN"
	case layers.DNSResponseCodeServFail:
		return "SERVFAIL"
	case layers.DNSResponseCodeRefused:
		return "REFUSED"
	}
	return fmt.Sprintf("RCODE%d", r)
}

// Conn describes one TCP connection.
type Conn struct {
	Src, Dst netip.Addr
	Port     uint16
	Out, In  []byte // payload each way (Out first, then In)
	OutSize  int64  // when Out is nil: this many bytes of filler
	Refused  bool   // answered by RST (REJ)
	NoAnswer bool   // SYN only (S0)
	Dur      time.Duration
	// Service is what nfr-capture names the connection by its content
	// (ssh when the payloads open with SSH banners), for the ip event.
	Service string
}

// TCP writes a connection and its ip event, and returns the event's time
// span end.
func (g *Gen) TCP(ts time.Time, c Conn) time.Time {
	sport := g.nextPort()
	seq, ack := uint32(g.Rand.Int31()), uint32(g.Rand.Int31())
	out := func(t time.Time, f func(*layers.TCP), payload []byte) {
		eth, ip, nl := ipLayers(c.Src, c.Dst, layers.IPProtocolTCP)
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(c.Port), Seq: seq, Ack: ack, Window: 64240}
		f(tcp)
		tcp.SetNetworkLayerForChecksum(nl)
		g.write(t, eth, ip, tcp, gopacket.Payload(payload))
	}
	in := func(t time.Time, f func(*layers.TCP), payload []byte) {
		eth, ip, nl := ipLayers(c.Dst, c.Src, layers.IPProtocolTCP)
		eth.(*layers.Ethernet).SrcMAC, eth.(*layers.Ethernet).DstMAC = macGW, macClient
		tcp := &layers.TCP{SrcPort: layers.TCPPort(c.Port), DstPort: layers.TCPPort(sport), Seq: ack, Ack: seq, Window: 65160}
		f(tcp)
		tcp.SetNetworkLayerForChecksum(nl)
		g.write(t, eth, ip, tcp, gopacket.Payload(payload))
	}
	ev := event.Event{Type: event.TypeIP, V: 1, TS: ts, SrcIP: c.Src, SrcPort: sport, DestIP: c.Dst, DestPort: c.Port, Proto: "tcp", Service: c.Service}
	rtt := time.Duration(10+g.Rand.Intn(30)) * time.Millisecond
	out(ts, func(t *layers.TCP) { t.SYN = true; t.Ack = 0 }, nil)
	seq++
	switch {
	case c.NoAnswer:
		out(ts.Add(time.Second), func(t *layers.TCP) { t.SYN = true; t.Ack = 0; t.Seq = seq - 1 }, nil)
		ev.PktsOut, ev.ConnState, ev.History, ev.Duration = 2, "S0", "S", 1
		g.events = append(g.events, ev)
		return ts.Add(time.Second)
	case c.Refused:
		in(ts.Add(rtt), func(t *layers.TCP) { t.RST = true; t.ACK = true; t.Seq = 0 }, nil)
		ev.PktsOut, ev.PktsIn, ev.ConnState, ev.History, ev.Duration = 1, 1, "REJ", "Sr", rtt.Seconds()
		g.events = append(g.events, ev)
		return ts.Add(rtt)
	}
	in(ts.Add(rtt), func(t *layers.TCP) { t.SYN = true; t.ACK = true }, nil)
	ack++
	t := ts.Add(rtt + time.Millisecond)
	out(t, func(t *layers.TCP) { t.ACK = true }, nil)
	pktsOut, pktsIn := int64(2), int64(1)
	send := func(payload []byte, size int64, dir bool) {
		// Ordinary transfers go in MSS-sized segments; bulk ones in 64 KB
		// segments (as captured with segmentation offload) whose payload
		// write() truncates, so megabytes stay small on disk.
		seg := int64(1448)
		if size > 256<<10 {
			seg = 65000
		}
		for size > 0 {
			n := size
			if n > seg {
				n = seg
			}
			var p []byte
			if payload != nil {
				p = payload[:n]
				payload = payload[n:]
			} else {
				p = make([]byte, n)
			}
			if dir {
				out(t, func(t *layers.TCP) { t.ACK = true; t.PSH = true }, p)
				seq += uint32(n)
				pktsOut++
			} else {
				in(t, func(t *layers.TCP) { t.ACK = true; t.PSH = true }, p)
				ack += uint32(n)
				pktsIn++
			}
			size -= n
			t = t.Add(time.Millisecond)
		}
	}
	outSize := int64(len(c.Out))
	if c.Out == nil {
		outSize = c.OutSize
	}
	send(c.Out, outSize, true)
	if c.Dur > 0 {
		t = ts.Add(c.Dur)
	}
	send(c.In, int64(len(c.In)), false)
	out(t, func(t *layers.TCP) { t.FIN = true; t.ACK = true }, nil)
	in(t.Add(rtt), func(t *layers.TCP) { t.FIN = true; t.ACK = true; t.Ack++ }, nil)
	out(t.Add(rtt+time.Millisecond), func(t *layers.TCP) { t.ACK = true; t.Seq++ }, nil)
	end := t.Add(rtt + time.Millisecond)
	ev.BytesOut, ev.BytesIn = outSize, int64(len(c.In))
	ev.PktsOut, ev.PktsIn = pktsOut+2, pktsIn+1
	ev.ConnState, ev.History = "SF", "ShADadFf"
	ev.Duration = end.Sub(ts).Seconds()
	g.events = append(g.events, ev)
	return end
}

// ICMPEcho writes n echo requests of size payload bytes and their replies
// as one flow event.
func (g *Gen) ICMPEcho(ts time.Time, src, dst netip.Addr, n int, size int, gap time.Duration) {
	id := uint16(g.Rand.Intn(65535))
	for i := 0; i < n; i++ {
		payload := make([]byte, size)
		g.Rand.Read(payload)
		t := ts.Add(time.Duration(i) * gap)
		eth, ip, _ := ipLayers(src, dst, layers.IPProtocolICMPv4)
		g.write(t, eth, ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: id, Seq: uint16(i)}, gopacket.Payload(payload))
		eth, ip, _ = ipLayers(dst, src, layers.IPProtocolICMPv4)
		g.write(t.Add(20*time.Millisecond), eth, ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(0, 0), Id: id, Seq: uint16(i)}, gopacket.Payload(payload))
	}
	typ, code := uint8(8), uint8(0)
	g.events = append(g.events, event.Event{Type: event.TypeIP, V: 1, TS: ts, SrcIP: src, SrcPort: 8, DestIP: dst, DestPort: 0,
		Proto: "icmp", BytesOut: int64(n * size), BytesIn: int64(n * size), PktsOut: int64(n), PktsIn: int64(n),
		Duration: (time.Duration(n-1)*gap + 20*time.Millisecond).Seconds(), ICMPType: &typ, ICMPCode: &code, ConnState: "OTH"})
}

// TLS writes a connection that starts with a ClientHello naming sni, plus
// its tls and ip events.
func (g *Gen) TLS(ts time.Time, src, dst netip.Addr, port uint16, sni string, outSize, inSize int) time.Time {
	hello := clientHello(g.Rand, sni)
	out := append(hello, make([]byte, outSize)...)
	in := make([]byte, 1200+inSize)
	copy(in, []byte{0x16, 0x03, 0x03})
	start := len(g.events)
	end := g.TCP(ts, Conn{Src: src, Dst: dst, Port: port, Out: out, In: in})
	ip := g.events[start]
	g.events = append(g.events, event.Event{Type: event.TypeTLS, V: 1, TS: ts, SrcIP: src, SrcPort: ip.SrcPort, DestIP: dst, DestPort: port,
		Proto: "tcp", SNI: sni, TLSVersion: "TLSv12"})
	return end
}

// HTTP writes a GET request and its answer, plus http and ip events.
func (g *Gen) HTTP(ts time.Time, src, dst netip.Addr, port uint16, host, url, ua string, status int, body int) time.Time {
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n\r\n", url, host, ua)
	resp := fmt.Sprintf("HTTP/1.1 %d OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n", status, body)
	in := append([]byte(resp), make([]byte, body)...)
	start := len(g.events)
	end := g.TCP(ts, Conn{Src: src, Dst: dst, Port: port, Out: []byte(req), In: in})
	ip := g.events[start]
	g.events = append(g.events, event.Event{Type: event.TypeHTTP, V: 1, TS: ts, SrcIP: src, SrcPort: ip.SrcPort, DestIP: dst, DestPort: port,
		Proto: "tcp", Host: host, URL: url, Method: "GET", Status: status, UserAgent: ua, ContentType: "text/html", RespLen: int64(body)})
	return end
}

// clientHello builds a TLS 1.2 ClientHello record with the server_name
// extension.
func clientHello(r *rand.Rand, sni string) []byte {
	var body []byte
	body = append(body, 0x03, 0x03) // client_version TLS 1.2
	random := make([]byte, 32)
	r.Read(random)
	body = append(body, random...)
	body = append(body, 0)                                        // session id
	body = append(body, 0, 6, 0xc0, 0x2f, 0xc0, 0x2b, 0x00, 0x9c) // cipher suites
	body = append(body, 1, 0)                                     // compression: null
	var ext []byte
	if sni != "" {
		name := []byte(sni)
		sn := make([]byte, 0, len(name)+9)
		sn = binary.BigEndian.AppendUint16(sn, 0) // server_name
		sn = binary.BigEndian.AppendUint16(sn, uint16(len(name)+5))
		sn = binary.BigEndian.AppendUint16(sn, uint16(len(name)+3))
		sn = append(sn, 0)
		sn = binary.BigEndian.AppendUint16(sn, uint16(len(name)))
		sn = append(sn, name...)
		ext = append(ext, sn...)
	}
	ext = append(ext, 0x00, 0x0a, 0, 4, 0, 2, 0, 0x1d) // supported_groups: x25519
	ext = append(ext, 0x00, 0x0b, 0, 2, 1, 0)          // ec_point_formats
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)
	hs := []byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	hs = append(hs, body...)
	rec := []byte{0x16, 0x03, 0x01, byte(len(hs) >> 8), byte(len(hs))}
	return append(rec, hs...)
}

// Events returns the events in time order.
func (g *Gen) Events() []event.Event {
	out := append([]event.Event(nil), g.events...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].TS.Before(out[j].TS) })
	return out
}

// WriteEvents writes the events as the stream, one per line, in time order.
func (g *Gen) WriteEvents(w io.Writer) error {
	var b []byte
	for _, e := range g.Events() {
		b = e.AppendJSON(b[:0])
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// WritePcap writes the packets in time order as a pcap file.
func (g *Gen) WritePcap(w io.Writer) error {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	pk := append([]packet(nil), g.pkts...)
	sort.SliceStable(pk, func(i, j int) bool { return pk[i].ts.Before(pk[j].ts) })
	for _, p := range pk {
		ci := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: p.length}
		if err := pw.WritePacket(ci, p.data); err != nil {
			return err
		}
	}
	return nil
}

// Packets returns how many packets were generated.
func (g *Gen) Packets() int { return len(g.pkts) }

// End returns the time of the last event, or Start when there is none.
func (g *Gen) End() time.Time {
	t := Start
	for i := range g.events {
		if g.events[i].TS.After(t) {
			t = g.events[i].TS
		}
	}
	return t
}
