package score

import (
	"fmt"
	"net/netip"
	"time"
)

// Scans: unanswered (address, port) pairs one source tried, counted per
// host (scan_port) and per port (scan_host) in two sliding windows: a
// pair counts while it was tried within the window. ScanPorts ports of
// one host or ScanHosts hosts on one port in LongWindow (1 h), or
// ScanPortsDay and ScanHostsDay in Horizon (24 h).
//
// Pace and spread: scanners sweep hundreds of ports or hosts in seconds;
// a careful one spaces its probes (nmap -T1 waits 15 s, -T0 5 minutes),
// 12 to 240 an hour, and one spread over a day tries a port or a host
// every few minutes. A sliding window counts a scan straddling the hour
// as one. Clients retrying a dead service try one port; hosts retrying
// departed peers (SMB, NetBIOS, P2P) try tens of hosts, not a hundred:
// ScanHostsDay is 100 (a /24 is 254), ScanPortsDay 30 (a host's
// unanswered ports; the hour's 15 doubled).
type scan struct {
	th      Thresholds
	sources *table[netip.Addr, scanState]
}

// scanState holds a source's unanswered targets, at most maxTargets.
type scanState struct {
	Seen   map[netip.AddrPort]scanMark
	Ports  map[netip.Addr][2]int32 // per host: ports in the hour, in the horizon
	Hosts  map[uint16][2]int32     // per port: hosts in the hour, in the horizon
	Start  time.Time               // first attempt since Seen was last empty
	Purged int64                   // Unix seconds of the last purge
}

// scanMark is when a target was last tried (Unix seconds) and whether it
// is counted in the hour.
type scanMark struct {
	T    int64
	Hour bool
}

func newScan(th Thresholds, max int) *scan {
	return &scan{th: th, sources: newTable[netip.Addr, scanState](max)}
}

func (*scan) name() string           { return "scan" }
func (*scan) on() kinds              { return onIP }
func (*scan) threats() []string      { return []string{ThreatScanPort, ThreatScanHost} }
func (d *scan) tables() []stateTable { return []stateTable{d.sources} }
func (d *scan) held(st *Stats)       { st.Sources += d.sources.len() }

func (d *scan) sweep(now time.Time, long bool) {
	if long {
		d.sources.expire(now.Add(-d.th.Horizon))
	}
}

func (d *scan) observe(o *observation, f *findings) {
	ev, now := o.ev, o.now
	if o.proto != 6 || !o.failed {
		return
	}
	s := d.sources.get(ev.SrcIP, now)
	ports, hosts, ok := d.add(s, netip.AddrPortFrom(ev.DestIP, ev.DestPort), now)
	if !ok {
		return
	}
	hour := func() string { return since(now, later(s.Start, now.Add(-d.th.LongWindow))) }
	day := func() string { return since(now, later(s.Start, now.Add(-d.th.Horizon))) }
	switch {
	case int(ports[0]) >= d.th.ScanPorts:
		f.add(ThreatScanPort, ev.DestIP.String(), "%d ports of %s probed by %s without an answer in %s", ports[0], ev.DestIP, ev.SrcIP, hour())
	case int(ports[1]) >= d.th.ScanPortsDay:
		f.add(ThreatScanPort, ev.DestIP.String(), "%d ports of %s probed by %s without an answer in %s, a slow scan", ports[1], ev.DestIP, ev.SrcIP, day())
	}
	switch {
	case int(hosts[0]) >= d.th.ScanHosts:
		f.add(ThreatScanHost, fmt.Sprint(ev.DestPort), "%d hosts probed on tcp/%d by %s without an answer in %s", hosts[0], ev.DestPort, ev.SrcIP, hour())
	case int(hosts[1]) >= d.th.ScanHostsDay:
		f.add(ThreatScanHost, fmt.Sprint(ev.DestPort), "%d hosts probed on tcp/%d by %s without an answer in %s, a slow sweep", hosts[1], ev.DestPort, ev.SrcIP, day())
	}
}

// add records an attempt at target ap and returns the counts of its host's
// ports and its port's hosts, or false when it changed none.
func (d *scan) add(s *scanState, ap netip.AddrPort, now time.Time) (ports, hosts [2]int32, ok bool) {
	t := now.Unix()
	if s.Seen == nil {
		s.Seen, s.Ports, s.Hosts = map[netip.AddrPort]scanMark{}, map[netip.Addr][2]int32{}, map[uint16][2]int32{}
	}
	// Purging walks every target: every twelfth of the hour is enough,
	// which makes the windows up to that much longer.
	if t-s.Purged >= int64(d.th.LongWindow/time.Second)/shortBuckets {
		d.purge(s, t)
		s.Purged = t
	}
	if len(s.Seen) == 0 {
		s.Start = now
	}
	a, p := ap.Addr(), ap.Port()
	m, seen := s.Seen[ap]
	switch {
	case seen && m.Hour:
		m.T = max(m.T, t)
		s.Seen[ap] = m
		return ports, hosts, false
	case seen:
		s.Seen[ap] = scanMark{T: max(m.T, t), Hour: true}
		s.count(a, p, 1, 0)
	case len(s.Seen) >= maxTargets:
		return ports, hosts, false
	default:
		s.Seen[ap] = scanMark{T: t, Hour: true}
		s.count(a, p, 1, 1)
	}
	return s.Ports[a], s.Hosts[p], true
}

// count adds to the hour's and the horizon's counts of host a and port p.
func (s *scanState) count(a netip.Addr, p uint16, hour, day int32) {
	c := s.Ports[a]
	c[0], c[1] = c[0]+hour, c[1]+day
	if c == [2]int32{} {
		delete(s.Ports, a)
	} else {
		s.Ports[a] = c
	}
	c = s.Hosts[p]
	c[0], c[1] = c[0]+hour, c[1]+day
	if c == [2]int32{} {
		delete(s.Hosts, p)
	} else {
		s.Hosts[p] = c
	}
}

// purge takes the targets out of the windows they left.
func (d *scan) purge(s *scanState, t int64) {
	hour, day := int64(d.th.LongWindow/time.Second), int64(d.th.Horizon/time.Second)
	for ap, m := range s.Seen {
		switch {
		case t-m.T >= day:
			delete(s.Seen, ap)
			if m.Hour {
				s.count(ap.Addr(), ap.Port(), -1, -1)
			} else {
				s.count(ap.Addr(), ap.Port(), 0, -1)
			}
		case m.Hour && t-m.T >= hour:
			s.Seen[ap] = scanMark{T: m.T}
			s.count(ap.Addr(), ap.Port(), -1, 0)
		}
	}
}
