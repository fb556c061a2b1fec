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
// count towards hosts.
const (
	probePorts = 10
	probeHosts = 30
)

type probe struct {
	th      Thresholds
	sources *table[netip.Addr, probeWindow]
}

type probeWindow struct {
	Start  time.Time
	Probed targets // handshakes
}

func newProbe(th Thresholds, max int) *probe {
	return &probe{th: th, sources: newTable[netip.Addr, probeWindow](max)}
}

func (*probe) name() string           { return "probe" }
func (*probe) on() kinds              { return onHTTP | onTLS }
func (*probe) threats() []string      { return []string{ThreatProbe} }
func (d *probe) tables() []stateTable { return []stateTable{d.sources} }
func (d *probe) held(st *Stats)       { st.Sources += d.sources.len() }

func (d *probe) sweep(now time.Time, long bool) { d.sources.expire(now.Add(-d.th.LongWindow)) }

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
	if roll(&s.Start, o.now, d.th.LongWindow) {
		s.Probed = targets{}
	}
	ports, hosts, ok := s.Probed.add(ev.DestIP, ev.DestPort, o.dstInternal)
	if !ok {
		return
	}
	if ports >= probePorts {
		f.add(ThreatProbe, ev.DestIP.String(), "%s made %s handshakes with %d ports of %s in %s", ev.SrcIP, ev.Type, ports, ev.DestIP, since(o.now, s.Start))
	}
	if hosts >= probeHosts {
		f.add(ThreatProbe, "", "%s made %s handshakes with %d internal hosts on port %d in %s", ev.SrcIP, ev.Type, hosts, ev.DestPort, since(o.now, s.Start))
	}
}

// targets are the distinct (address, port) pairs one source reached in a
// window, counted per host and per port; at most maxTargets.
type targets struct {
	Seen        map[netip.AddrPort]bool
	PortsByHost map[netip.Addr]int
	HostsByPort map[uint16]int
}

// maxTargets caps the targets a source keeps (probe.go, scan.go).
const maxTargets = 4096

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
