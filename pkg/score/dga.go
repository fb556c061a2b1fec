package score

import (
	"net/netip"
	"time"
)

// dga counts per source the distinct registered domains whose main label
// reads as generated (letter-bigram likelihood under a model of English
// words, entropy, digits: see names.go) and those answered NXDOMAIN, in
// sliding windows: a domain counts while it was seen within the window.
// DGANames generated-looking ones in LongWindow (1 h), or NXDomains
// NXDOMAIN ones in LongWindow with an odd-looking last, raise dga; so do
// NXDomainsDay NXDOMAIN ones in Horizon (24 h) when they are NXRatio of
// the source's lookups or more.
//
// Pace: a DGA bot tries its day's list (tens to thousands of names)
// within minutes, or one name every few minutes, 10 to 20 an hour (the
// hour catches both); a patient one every 15 to 30 minutes makes 2 to 4
// an hour and 50 in 12 to 25 hours. A host's ordinary day has
// NXDOMAINs too: typos, names with a search domain appended (one
// registered domain, the search domain), stale bookmarks; a handful of
// distinct domains, a few per cent of its lookups. Mail servers checking
// senders and resolvers forwarding for others see many distinct NXDOMAIN
// domains, but among many more lookups: the ratio (NXRatio, 10 %) keeps
// them out. The lookups are counted from the source's first NXDOMAIN or
// generated-looking name on (the state is created then), so the ratio
// leans high at first, which the 50 distinct domains outweigh.
type dga struct {
	th      Thresholds
	sources *table[netip.Addr, dgaState]
}

type dgaState struct {
	DGA     []sighting       // generated-looking registered domains, last seen
	NX      []sighting       // registered domains answered NXDOMAIN, last seen
	Lookups slide[[2]uint32] // per Horizon bucket: lookups and NXDOMAIN answers
}

// sighting is a distinct value (a hash) and when it was last seen (Unix
// seconds).
type sighting struct {
	H uint64
	T int64
}

const (
	maxDGA = 64
	maxNX  = 256
)

func newDGA(th Thresholds, max int) *dga {
	return &dga{th: th, sources: newTable[netip.Addr, dgaState](max)}
}

func (*dga) name() string           { return "dga" }
func (*dga) on() kinds              { return onDNS }
func (*dga) threats() []string      { return []string{ThreatDGA} }
func (d *dga) tables() []stateTable { return []stateTable{d.sources} }
func (d *dga) held(st *Stats)       { st.Sources += d.sources.len() }

func (d *dga) sweep(now time.Time, long bool) {
	if long {
		d.sources.expire(now.Add(-d.th.Horizon))
	}
}

func (d *dga) observe(o *observation, f *findings) {
	ev, now := o.ev, o.now
	nx := ev.RCode == "NXDOMAIN"
	dw := d.th.Horizon / longBuckets
	// Every lookup of a source already watched counts for the ratio.
	src, watched := d.sources.touch(ev.SrcIP, now)
	var s float64
	var st labelStats
	if o.regOK {
		s, st = o.dga()
	}
	// An odd lookup (generated-looking or NXDOMAIN) starts watching its
	// source.
	odd := o.regOK && (s >= 0.6 || nx)
	if !watched && !odd {
		return
	}
	if !watched {
		src = d.sources.get(ev.SrcIP, now)
	}
	if b := src.Lookups.at(now, dw, longBuckets); b != nil {
		b[0]++
		if nx {
			b[1]++
		}
	}
	if !odd {
		return
	}
	reg := o.reg
	h, t := hash(reg), now.Unix()
	hour, day := int64(d.th.LongWindow/time.Second), int64(d.th.Horizon/time.Second)
	if s >= 0.6 {
		f.flag("dga_like")
	}
	// A name that resolves counts only when its statistics leave
	// little doubt: ad-tech and CDN names (crwdcntrl.net) look odd too.
	if s >= 0.6 && (st.Digits > 0 || nx || s >= 0.8) {
		src.DGA, _ = sight(src.DGA, h, t, hour, maxDGA)
		if n, first := recent(src.DGA, t-hour); n >= d.th.DGANames {
			f.add(ThreatDGA, reg, "%d generated-looking domains from %s in %s, among them %s (bigram log-likelihood %.1f, entropy %.1f, digits %d)",
				n, ev.SrcIP, since(now, time.Unix(first, 0)), reg, st.LogLik, st.Entropy, st.Digits)
		}
	}
	if !nx {
		return
	}
	f.flag("nxdomain")
	src.NX, _ = sight(src.NX, h, t, day, maxNX)
	if s < 0.4 {
		return
	}
	if n, first := recent(src.NX, t-hour); n >= d.th.NXDomains {
		f.add(ThreatDGA, reg, "%d distinct domains answered NXDOMAIN for %s in %s, %s among them",
			n, ev.SrcIP, since(now, time.Unix(first, 0)), reg)
		return
	}
	if n, first := recent(src.NX, t-day); n >= d.th.NXDomainsDay {
		var c [2]uint32
		src.Lookups.each(now, dw, longBuckets, func(b *[2]uint32) { c[0] += b[0]; c[1] += b[1] })
		if ratio := float64(c[1]) / float64(max(c[0], 1)); ratio >= d.th.NXRatio {
			f.add(ThreatDGA, reg, "%d distinct domains answered NXDOMAIN for %s in %s (%.0f %% of its %d lookups), %s among them",
				n, ev.SrcIP, since(now, time.Unix(first, 0)), 100*ratio, c[0], reg)
		}
	}
}

// sight records h seen at t in a set of at most limit sightings, dropping
// those older than keep seconds; added is whether h is new to the set.
func sight(s []sighting, h uint64, t, keep int64, limit int) (_ []sighting, added bool) {
	for i := 0; i < len(s); i++ {
		if t-s[i].T >= keep {
			s[i] = s[len(s)-1]
			s = s[:len(s)-1]
			i--
		}
	}
	for i := range s {
		if s[i].H == h {
			s[i].T = max(s[i].T, t)
			return s, false
		}
	}
	if len(s) >= limit {
		return s, false
	}
	return append(s, sighting{H: h, T: t}), true
}

// recent returns how many sightings are from after (Unix seconds), and the
// oldest of them.
func recent(s []sighting, after int64) (n int, first int64) {
	first = -1
	for _, x := range s {
		if x.T > after {
			n++
			if first < 0 || x.T < first {
				first = x.T
			}
		}
	}
	return n, first
}
