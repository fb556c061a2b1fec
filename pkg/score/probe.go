package score

import (
	"net/netip"
	"time"
)

// Service probing: a source that opens TLS or HTTP handshakes with many
// ports of one host, or with many monitored hosts on one port, maps
// services even when every handshake completes (the scan detectors count
// only unanswered attempts). probePorts distinct ports of one host, or
// probeHosts monitored hosts on one port, in LongWindow (1 h). Browsing
// many external sites on 443 is not probing: only monitored destinations
// count towards hosts. The window slides (targets.go).
const (
	probePorts = 10
	probeHosts = 30
)

type probe struct {
	th      Thresholds
	sources *table[netip.Addr, targets] // handshakes
}

func newProbe(th Thresholds, max int) *probe {
	return &probe{th: th, sources: newTable[netip.Addr, targets](max)}
}

func (*probe) name() string           { return "probe" }
func (*probe) on() kinds              { return onHTTP | onTLS }
func (*probe) threats() []string      { return []string{ThreatProbe} }
func (d *probe) tables() []stateTable { return []stateTable{d.sources} }
func (d *probe) held(st *Stats)       { st.Sources += d.sources.len() }

func (d *probe) sweep(now time.Time, long bool) {
	if long {
		d.sources.expire(now.Add(-d.th.LongWindow))
	}
}

func (d *probe) observe(o *observation, f *findings) {
	ev := o.ev
	if !ev.DestIP.IsValid() || ev.DestPort == 0 {
		return
	}
	// The web ports of outside hosts are what browsing is made of; they
	// add at most two ports to a host's count.
	if !o.dstInternal && (ev.DestPort == 443 || ev.DestPort == 80) {
		return
	}
	s := d.sources.get(ev.SrcIP, o.now)
	// Only the hour counts: the horizon is the scan detector's.
	ports, hosts, ok := s.add(netip.AddrPortFrom(ev.DestIP, ev.DestPort), o.dstInternal, o.now, d.th.LongWindow, d.th.LongWindow)
	if !ok {
		return
	}
	in := func() string { return windowSince(o.now, s.Start, d.th.LongWindow) }
	if ports[0] >= probePorts {
		f.add(ThreatProbe, ev.DestIP.String(), "%s made %s handshakes with %d ports of %s in %s", ev.SrcIP, ev.Type, ports[0], ev.DestIP, in())
	}
	if hosts[0] >= probeHosts {
		f.add(ThreatProbe, "", "%s made %s handshakes with %d internal hosts on port %d in %s", ev.SrcIP, ev.Type, hosts[0], ev.DestPort, in())
	}
}
