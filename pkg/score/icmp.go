package score

import (
	"github.com/nfr-project/nfr/pkg/event"
)

// ICMP tunnelling: many echo packets between two hosts in Window with a
// mean size far above what ping sends.
func (e *Engine) icmp(ev *event.Event) {
	typ := -1
	if ev.ICMPType != nil {
		typ = int(*ev.ICMPType)
	} else {
		typ = int(ev.SrcPort) // Zeek puts the ICMP type in orig_p
	}
	if typ != 8 && typ != 0 && typ != 128 && typ != 129 {
		return
	}
	p := e.pairs.get(pairKey{Src: ev.SrcIP.As16(), Dst: ev.DestIP.As16(), Proto: 1}, e.now)
	if roll(&p.ICMPStart, e.now, e.th.Window) {
		p.Pkts, p.Bytes = 0, 0
	}
	pkts := ev.PktsOut + ev.PktsIn
	if pkts == 0 {
		pkts = 1
	}
	p.Pkts += pkts
	p.Bytes += ev.BytesOut + ev.BytesIn
	if p.Pkts >= int64(e.th.ICMPPackets) && p.Bytes/p.Pkts >= e.th.ICMPPayload {
		e.add(ThreatICMPTunnel, ev.DestIP.String(), "%d ICMP echo packets between %s and %s in %s, mean size %d bytes (ping sends 32 to 64)",
			p.Pkts, ev.SrcIP, ev.DestIP, dur(e.th.Window), p.Bytes/p.Pkts)
	}
}
