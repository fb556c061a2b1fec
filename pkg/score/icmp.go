package score

import (
	"time"
)

// ICMP tunnelling: many echo packets between two hosts in Window (5 min)
// with a mean size far above what ping sends. The window slides (twelve
// buckets, as the upload detector's): a tunnel session straddling what
// would be the edge of a tumbling window is counted together, and a
// pair's packets count while they were sent within the window.
type icmp struct {
	th    Thresholds
	pairs *table[pairKey, icmpWindow] // Proto 1
}

// icmpWindow is the packets (Out) and bytes (In) of one pair's echo
// traffic in Window.
type icmpWindow struct {
	Sums byteWindow[[shortBuckets][2]int64]
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
	pkts := ev.PktsOut + ev.PktsIn
	if pkts == 0 {
		pkts = 1
	}
	n, bytes, _, ok := p.Sums.add(o.now, d.th.Window/shortBuckets, pkts, ev.BytesOut+ev.BytesIn)
	if ok && n >= int64(d.th.ICMPPackets) && bytes/n >= d.th.ICMPPayload {
		f.add(ThreatICMPTunnel, ev.DestIP.String(), "%d ICMP echo packets between %s and %s in %s, mean size %d bytes (ping sends 32 to 64)",
			n, ev.SrcIP, ev.DestIP, dur(d.th.Window), bytes/n)
	}
}
