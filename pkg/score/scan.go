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
	sources *table[netip.Addr, targets]
}

func newScan(th Thresholds, max int) *scan {
	return &scan{th: th, sources: newTable[netip.Addr, targets](max)}
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
	ports, hosts, ok := s.add(netip.AddrPortFrom(ev.DestIP, ev.DestPort), true, now, d.th.LongWindow, d.th.Horizon)
	if !ok {
		return
	}
	hour := func() string { return windowSince(now, s.Start, d.th.LongWindow) }
	day := func() string { return windowSince(now, s.Start, d.th.Horizon) }
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
