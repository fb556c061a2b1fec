package score

import (
	"strings"

	"github.com/nfr-project/nfr/pkg/event"
)

// DNS tunnelling: many long, high-entropy names under one registered
// domain, or TXT/NULL-heavy lookups of unique names, within LongWindow.
// Names on the built-in tunnel-allow and infra-allow lists are skipped.
//
// tunnel keeps per-domain statistics of the names looked up under it.
func (e *Engine) tunnel(ev *event.Event, q, reg string) {
	if ev.QType == "PTR" {
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
	if _, ok := e.builtin.HasDomain(reg, "allow_tunnel"); ok || e.allowedInfra(q) {
		return
	}
	d := e.domains.get(reg, e.now)
	if roll(&d.Start, e.now, e.th.LongWindow) {
		*d = domState{Start: d.Start, Names: d.Names}
		clear(d.Names)
	}
	d.Queries++
	if txt {
		d.TXT++
	}
	if len(sub) < 8 {
		return
	}
	if d.Names == nil {
		d.Names = make(map[uint64]struct{})
	}
	h := e.hash(q)
	if _, dup := d.Names[h]; dup || len(d.Names) >= maxNames {
		return
	}
	d.Names[h] = struct{}{}
	letters := strings.ReplaceAll(sub, ".", "")
	d.LenSum += float64(len(letters))
	d.EntSum += shannon(letters)
	u := len(d.Names)
	meanLen, meanEnt := d.LenSum/float64(u), d.EntSum/float64(u)
	switch {
	case u >= e.th.TunnelNames && meanLen >= e.th.TunnelLen && meanEnt >= e.th.TunnelEntropy:
		e.add(ThreatDNSTunnel, reg, "%d unique subdomains of %s in %s, mean length %.0f, mean label entropy %.1f",
			u, reg, since(e.now, d.Start), meanLen, meanEnt)
	case d.TXT >= e.th.TunnelNames && u >= e.th.TunnelNames/2 && meanEnt >= e.th.TunnelEntropy-0.5:
		e.add(ThreatDNSTunnel, reg, "%d TXT/NULL lookups under %s in %s, %d of them unique names with mean entropy %.1f",
			d.TXT, reg, since(e.now, d.Start), u, meanEnt)
	case u >= 50*e.th.TunnelNames && meanEnt >= e.th.TunnelEntropy-0.5:
		e.add(ThreatDNSTunnel, reg, "unusual volume: %d unique subdomains of %s in %s", u, reg, since(e.now, d.Start))
	}
}
