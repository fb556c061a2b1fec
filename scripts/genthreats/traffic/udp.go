package traffic

import (
	"net/netip"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/nfr-project/nfr/pkg/event"
)

// UDP writes one datagram each way (out, then in after 30 ms) and their
// ip event.
func (g *Gen) UDP(ts time.Time, src, dst netip.Addr, port uint16, out, in int) time.Time {
	sport := g.nextPort()
	dgram := func(t time.Time, from, to netip.Addr, sp, dp uint16, n int) {
		eth, ip, nl := ipLayers(from, to, layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
		u.SetNetworkLayerForChecksum(nl)
		g.write(t, eth, ip, u, gopacket.Payload(make([]byte, n)))
	}
	dgram(ts, src, dst, sport, port, out)
	end := ts.Add(30 * time.Millisecond)
	if in > 0 {
		dgram(end, dst, src, port, sport, in)
	}
	ev := event.Event{Type: event.TypeIP, V: 1, TS: ts, SrcIP: src, SrcPort: sport, DestIP: dst, DestPort: port, Proto: "udp",
		BytesOut: int64(out), BytesIn: int64(in), PktsOut: 1, Duration: end.Sub(ts).Seconds(), ConnState: "SF"}
	if in > 0 {
		ev.PktsIn = 1
	} else {
		ev.ConnState = "S0"
	}
	g.events = append(g.events, ev)
	return end
}
