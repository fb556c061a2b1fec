package score

import (
	"time"
)

// ICMP tunnelling: many echo packets between two hosts in Window with a
// mean size far above what ping sends.
type icmp struct {
	th    Thresholds
	pairs *table[pairKey, icmpWindow] // Proto 1
}

type icmpWindow struct {
	Start time.Time
	Pkts  int64
	Bytes int64
}

func newICMP(th Thresholds, max int) *icmp {
	return &icmp{th: th, pairs: newTable[pairKey, icmpWindow](max)}
}

func (*icmp) name() string           { return "icmp_tunnel" }
func (*icmp) on() kinds              { return onIP }
func (*icmp) threats() []string      { return []string{ThreatICMPTunnel} }
func (d *icmp) tables() []stateTable { return []stateTable{d.pairs} }
func (d *icmp) held(st *Stats)       { st.Pairs += d.pairs.len() }

func (d *icmp) sweep(now time.Time, long bool) { d.pairs.expire(now.Add(-d.th.Window)) }

func (d *icmp) observe(o *observation, f *findings) {
	ev := o.ev
	if o.proto != 1 {
		return
	}
	typ := -1
	if ev.ICMPType != nil {
		typ = int(*ev.ICMPType)
	} else {
		typ = int(ev.SrcPort) // Zeek puts the ICMP type in orig_p
	}
	if typ != 8 && typ != 0 && typ != 128 && typ != 129 {
		return
	}
	p := d.pairs.get(pairOf(ev, 1), o.now)
	if roll(&p.Start, o.now, d.th.Window) {
		p.Pkts, p.Bytes = 0, 0
	}
	pkts := ev.PktsOut + ev.PktsIn
	if pkts == 0 {
		pkts = 1
	}
	p.Pkts += pkts
	p.Bytes += ev.BytesOut + ev.BytesIn
	if p.Pkts >= int64(d.th.ICMPPackets) && p.Bytes/p.Pkts >= d.th.ICMPPayload {
		f.add(ThreatICMPTunnel, ev.DestIP.String(), "%d ICMP echo packets between %s and %s in %s, mean size %d bytes (ping sends 32 to 64)",
			p.Pkts, ev.SrcIP, ev.DestIP, dur(d.th.Window), p.Bytes/p.Pkts)
	}
}
