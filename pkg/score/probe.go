package score

import (
	"net/netip"

	"github.com/nfr-project/nfr/pkg/event"
)

// Service probing: a source that opens TLS or HTTP handshakes with many
// ports of one host, or with many monitored hosts on one port, maps
// services even when every handshake completes (the scan detectors count
// only unanswered attempts). probePorts distinct ports of one host, or
// probeHosts monitored hosts on one port, in LongWindow (1 h). Browsing
// many external sites on 443 is not probing: only monitored destinations
// count towards hosts.
const (
	probePorts = 10
	probeHosts = 30
)

func (e *Engine) probe(ev *event.Event) {
	if !ev.DestIP.IsValid() || ev.DestPort == 0 {
		return
	}
	// The web ports of outside hosts are what browsing is made of; they
	// add at most two ports to a host's count.
	internal := e.isInternal(ev.DestIP)
	if !internal && (ev.DestPort == 443 || ev.DestPort == 80) {
		return
	}
	s := e.sources.get(ev.SrcIP, e.now)
	if roll(&s.ProbeStart, e.now, e.th.LongWindow) {
		s.Probed = targets{}
	}
	ports, hosts, ok := s.Probed.add(ev.DestIP, ev.DestPort, internal)
	if !ok {
		return
	}
	if ports >= probePorts {
		e.add(ThreatProbe, ev.DestIP.String(), "%s made %s handshakes with %d ports of %s in %s", ev.SrcIP, ev.Type, ports, ev.DestIP, since(e.now, s.ProbeStart))
	}
	if hosts >= probeHosts {
		e.add(ThreatProbe, "", "%s made %s handshakes with %d internal hosts on port %d in %s", ev.SrcIP, ev.Type, hosts, ev.DestPort, since(e.now, s.ProbeStart))
	}
}

// targets are the distinct (address, port) pairs one source reached in a
// window, counted per host and per port; at most maxTargets.
type targets struct {
	Seen        map[netip.AddrPort]bool
	PortsByHost map[netip.Addr]int
	HostsByPort map[uint16]int
}

// add records a pair and returns the ports of its host and the hosts on
// its port reached so far (hosts counted only when countHost), or false
// when the pair was seen or the set is full.
func (t *targets) add(a netip.Addr, port uint16, countHost bool) (ports, hosts int, ok bool) {
	if t.Seen == nil {
		t.Seen, t.PortsByHost, t.HostsByPort = map[netip.AddrPort]bool{}, map[netip.Addr]int{}, map[uint16]int{}
	}
	ap := netip.AddrPortFrom(a, port)
	if t.Seen[ap] || len(t.Seen) >= maxTargets {
		return 0, 0, false
	}
	t.Seen[ap] = true
	t.PortsByHost[a]++
	if countHost {
		t.HostsByPort[port]++
	}
	return t.PortsByHost[a], t.HostsByPort[port], true
}
