package score

import (
	"strings"
	"time"
)

// DNS tunnelling: many long, high-entropy names under one registered
// domain, or TXT/NULL-heavy lookups of unique names, within LongWindow.
// Names on the built-in tunnel-allow and infra-allow lists are skipped.
// The detector keeps per-domain statistics of the names looked up under
// each registered domain.
type tunnel struct {
	th      Thresholds
	look    *lookup
	domains *table[string, domState]
}

// domState is what the detector remembers about one registered domain.
type domState struct {
	Start   time.Time
	Queries int
	TXT     int
	Names   map[uint64]struct{} // distinct long names under the domain
	LenSum  float64
	EntSum  float64
}

const maxNames = 1024

func newTunnel(th Thresholds, look *lookup, max int) *tunnel {
	return &tunnel{th: th, look: look, domains: newTable[string, domState](max)}
}

func (*tunnel) name() string           { return "dns_tunnel" }
func (*tunnel) on() kinds              { return onDNS }
func (*tunnel) threats() []string      { return []string{ThreatDNSTunnel} }
func (d *tunnel) tables() []stateTable { return []stateTable{d.domains} }
func (d *tunnel) held(st *Stats)       { st.Domains += d.domains.len() }

func (d *tunnel) sweep(now time.Time, long bool) { d.domains.expire(now.Add(-d.th.LongWindow)) }

func (d *tunnel) observe(o *observation, f *findings) {
	ev, q, reg := o.ev, o.name, o.reg
	if !o.regOK || ev.QType == "PTR" {
		return
	}
	txt := ev.QType == "TXT" || ev.QType == "NULL"
	sub := ""
	if len(q) > len(reg)+1 {
		sub = q[:len(q)-len(reg)-1]
	}
	// Short names are what every site looks up; only long names and
	// TXT/NULL lookups are worth remembering.
	if len(sub) < 8 && !txt {
		return
	}
	if _, ok := d.look.builtin.HasDomain(reg, "allow_tunnel"); ok || d.look.allowedInfra(q) {
		return
	}
	s := d.domains.get(reg, o.now)
	if roll(&s.Start, o.now, d.th.LongWindow) {
		*s = domState{Start: s.Start, Names: s.Names}
		clear(s.Names)
	}
	s.Queries++
	if txt {
		s.TXT++
	}
	if len(sub) < 8 {
		return
	}
	if s.Names == nil {
		s.Names = make(map[uint64]struct{})
	}
	h := hash(q)
	if _, dup := s.Names[h]; dup || len(s.Names) >= maxNames {
		return
	}
	s.Names[h] = struct{}{}
	letters := strings.ReplaceAll(sub, ".", "")
	s.LenSum += float64(len(letters))
	s.EntSum += shannon(letters)
	u := len(s.Names)
	meanLen, meanEnt := s.LenSum/float64(u), s.EntSum/float64(u)
	switch {
	case u >= d.th.TunnelNames && meanLen >= d.th.TunnelLen && meanEnt >= d.th.TunnelEntropy:
		f.add(ThreatDNSTunnel, reg, "%d unique subdomains of %s in %s, mean length %.0f, mean label entropy %.1f",
			u, reg, since(o.now, s.Start), meanLen, meanEnt)
	case s.TXT >= d.th.TunnelNames && u >= d.th.TunnelNames/2 && meanEnt >= d.th.TunnelEntropy-0.5:
		f.add(ThreatDNSTunnel, reg, "%d TXT/NULL lookups under %s in %s, %d of them unique names with mean entropy %.1f",
			s.TXT, reg, since(o.now, s.Start), u, meanEnt)
	case u >= 50*d.th.TunnelNames && meanEnt >= d.th.TunnelEntropy-0.5:
		f.add(ThreatDNSTunnel, reg, "unusual volume: %d unique subdomains of %s in %s", u, reg, since(o.now, s.Start))
	}
}
