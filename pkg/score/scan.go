package score

import (
	"fmt"

	"github.com/nfr-project/nfr/pkg/event"
)

// Scans: unanswered (address, port) pairs one source tried in
// LongWindow, counted per host (scan_port) and per port (scan_host).
func (e *Engine) scan(ev *event.Event) {
	s := e.sources.get(ev.SrcIP, e.now)
	if roll(&s.ScanStart, e.now, e.th.LongWindow) {
		s.Scanned = targets{}
	}
	ports, hosts, ok := s.Scanned.add(ev.DestIP, ev.DestPort, true)
	if !ok {
		return
	}
	if n := ports; n >= e.th.ScanPorts {
		e.add(ThreatScanPort, ev.DestIP.String(), "%d ports of %s probed by %s without an answer in %s", n, ev.DestIP, ev.SrcIP, since(e.now, s.ScanStart))
	}
	if n := hosts; n >= e.th.ScanHosts {
		e.add(ThreatScanHost, fmt.Sprint(ev.DestPort), "%d hosts probed on tcp/%d by %s without an answer in %s", n, ev.DestPort, ev.SrcIP, since(e.now, s.ScanStart))
	}
}
