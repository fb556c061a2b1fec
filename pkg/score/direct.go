package score

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// Direct C2: malware with its C2 addresses compiled in (Dridex, TrickBot,
// Emotet, QakBot) talks TLS to a bare address, without a server name, from
// a host that otherwise resolves names like any other. A host is counted
// as using DNS after directMinLookups lookups; an address is resolved when
// any DNS answer seen (kept a day, capped at MaxDomains) carried it. The
// alert needs directMin TLS sessions without SNI from one host to one
// never-resolved address and port, spanning directSpan, within a day.
// Variant space claimed: any port, any pace from a few a minute to one an
// hour, any session size. Not covered: C2 over plain TCP or HTTP to bare
// addresses (the beacon detector sees those when they are regular).

const (
	directMin        = 10
	directSpan       = 10 * time.Minute
	directMinLookups = 10
)

type direct struct {
	pairs   *pairs
	answers *answers
	lookups *table[netip.Addr, int] // DNS lookups per monitored host, kept a day
}

// directPair is the direct detector's part of a pair's state (pairs.go).
type directPair struct {
	N           int   // TLS sessions without SNI
	First, Last int64 // Unix ms
}

func newDirect(pairs *pairs, answers *answers, max int) *direct {
	return &direct{pairs: pairs, answers: answers, lookups: newTable[netip.Addr, int](max)}
}

func (*direct) name() string           { return "c2_direct" }
func (*direct) on() kinds              { return onDNS | onTLS }
func (*direct) threats() []string      { return []string{ThreatDirect} }
func (d *direct) tables() []stateTable { return []stateTable{d.lookups} }
func (d *direct) held(st *Stats)       { st.Sources += d.lookups.len() }

// sweep keeps a host's lookups a day: they say the host uses DNS, which
// does not change within an hour of quiet.
func (d *direct) sweep(now time.Time, long bool) {
	if long {
		d.lookups.expire(now.Add(-24 * time.Hour))
	}
}

func (d *direct) observe(o *observation, f *findings) {
	ev := o.ev
	if ev.Type == event.TypeDNS {
		if o.srcInternal {
			*d.lookups.get(ev.SrcIP, o.now)++
		}
		return
	}
	dst := ev.DestIP
	if o.name != "" || !o.dstExternal || !o.srcInternal {
		return
	}
	if _, ok := d.answers.peek(dst); ok {
		return
	}
	n, ok := d.lookups.peek(ev.SrcIP)
	if !ok || *n < directMinLookups {
		return
	}
	p := &d.pairs.t.get(pairOf(ev, 6), o.now).Direct
	ts := ev.TS.UnixMilli()
	if p.N == 0 || ts-p.Last > (24*time.Hour).Milliseconds() {
		p.N, p.First = 0, ts
	}
	p.N++
	p.Last = ts
	span := time.Duration(ts-p.First) * time.Millisecond
	if p.N >= directMin && span >= directSpan {
		subject := fmt.Sprintf("%s:%d", dst, ev.DestPort)
		f.add(ThreatDirect, subject, "%d TLS sessions without a server name from %s to %s over %s; no DNS answer seen carried the address, though the host made %d lookups",
			p.N, ev.SrcIP, subject, dur(span.Round(time.Minute)), *n)
	}
}
