package score

import (
	"net/netip"
	"time"
)

// dga counts, per source over LongWindow (1 h), the distinct registered
// domains whose main label reads as generated (letter-bigram likelihood
// under a model of English words, entropy, digits: see names.go) and those
// answered NXDOMAIN. DGANames generated-looking ones, or NXDomains
// NXDOMAIN ones with an odd-looking last, raise dga.
type dga struct {
	th      Thresholds
	sources *table[netip.Addr, dgaWindow]
}

type dgaWindow struct {
	Start time.Time
	DGA   []uint64 // distinct generated-looking registered domains
	NX    []uint64 // distinct registered domains answered NXDOMAIN
}

func newDGA(th Thresholds, max int) *dga {
	return &dga{th: th, sources: newTable[netip.Addr, dgaWindow](max)}
}

func (*dga) name() string           { return "dga" }
func (*dga) on() kinds              { return onDNS }
func (*dga) threats() []string      { return []string{ThreatDGA} }
func (d *dga) tables() []stateTable { return []stateTable{d.sources} }
func (d *dga) held(st *Stats)       { st.Sources += d.sources.len() }

func (d *dga) sweep(now time.Time, long bool) { d.sources.expire(now.Add(-d.th.LongWindow)) }

func (d *dga) observe(o *observation, f *findings) {
	if !o.regOK {
		return
	}
	ev, reg := o.ev, o.reg
	s, st := o.dga()
	nx := ev.RCode == "NXDOMAIN"
	if s < 0.6 && !nx {
		return
	}
	src := d.sources.get(ev.SrcIP, o.now)
	if roll(&src.Start, o.now, d.th.LongWindow) {
		src.DGA, src.NX = src.DGA[:0], src.NX[:0]
	}
	h := hash(reg)
	if s >= 0.6 {
		f.flag("dga_like")
	}
	// A name that resolves counts only when its statistics leave
	// little doubt: ad-tech and CDN names (crwdcntrl.net) look odd too.
	if s >= 0.6 && (st.Digits > 0 || nx || s >= 0.8) {
		src.DGA, _ = addDistinct(src.DGA, h, 64)
		if n := len(src.DGA); n >= d.th.DGANames {
			f.add(ThreatDGA, reg, "%d generated-looking domains from %s in %s, among them %s (bigram log-likelihood %.1f, entropy %.1f, digits %d)",
				n, ev.SrcIP, since(o.now, src.Start), reg, st.LogLik, st.Entropy, st.Digits)
		}
	}
	if nx {
		f.flag("nxdomain")
		src.NX, _ = addDistinct(src.NX, h, 64)
		if n := len(src.NX); n >= d.th.NXDomains && s >= 0.4 {
			f.add(ThreatDGA, reg, "%d distinct domains answered NXDOMAIN for %s in %s, %s among them",
				n, ev.SrcIP, since(o.now, src.Start), reg)
		}
	}
}
