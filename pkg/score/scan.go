package score

import (
	"fmt"
	"net/netip"
	"time"
)

// Scans: unanswered (address, port) pairs one source tried in
// LongWindow, counted per host (scan_port) and per port (scan_host).
type scan struct {
	th      Thresholds
	sources *table[netip.Addr, scanWindow]
}

type scanWindow struct {
	Start   time.Time
	Scanned targets // unanswered (address, port) pairs
}

func newScan(th Thresholds, max int) *scan {
	return &scan{th: th, sources: newTable[netip.Addr, scanWindow](max)}
}

func (*scan) name() string           { return "scan" }
func (*scan) on() kinds              { return onIP }
func (*scan) threats() []string      { return []string{ThreatScanPort, ThreatScanHost} }
func (d *scan) tables() []stateTable { return []stateTable{d.sources} }
func (d *scan) held(st *Stats)       { st.Sources += d.sources.len() }

func (d *scan) sweep(now time.Time, long bool) { d.sources.expire(now.Add(-d.th.LongWindow)) }

func (d *scan) observe(o *observation, f *findings) {
	ev := o.ev
	if o.proto != 6 || !o.failed {
		return
	}
	s := d.sources.get(ev.SrcIP, o.now)
	if roll(&s.Start, o.now, d.th.LongWindow) {
		s.Scanned = targets{}
	}
	ports, hosts, ok := s.Scanned.add(ev.DestIP, ev.DestPort, true)
	if !ok {
		return
	}
	if n := ports; n >= d.th.ScanPorts {
		f.add(ThreatScanPort, ev.DestIP.String(), "%d ports of %s probed by %s without an answer in %s", n, ev.DestIP, ev.SrcIP, since(o.now, s.Start))
	}
	if n := hosts; n >= d.th.ScanHosts {
		f.add(ThreatScanHost, fmt.Sprint(ev.DestPort), "%d hosts probed on tcp/%d by %s without an answer in %s", n, ev.DestPort, ev.SrcIP, since(o.now, s.Start))
	}
}
