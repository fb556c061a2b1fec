package score

import (
	"github.com/nfr-project/nfr/pkg/event"
)

// Lateral movement: one monitored host completing sessions with many
// other monitored hosts on the ports of remote administration and file
// sharing (SMB 445/139, RDP 3389, WinRM 5985/5986, SSH 22, RPC 135):
// lateralHosts distinct hosts in LongWindow (1 h). Variant space: any
// pace within the hour, any mix of those ports. Jump hosts and management
// servers do this by design.
const lateralHosts = 10

var lateralPorts = map[uint16]bool{445: true, 139: true, 3389: true, 5985: true, 5986: true, 22: true, 135: true}

func (e *Engine) lateral(ev *event.Event) {
	if !lateralPorts[ev.DestPort] || !e.isInternal(ev.SrcIP) || !e.isInternal(ev.DestIP) || ev.SrcIP == ev.DestIP {
		return
	}
	s := e.sources.get(ev.SrcIP, e.now)
	if roll(&s.LateralStart, e.now, e.th.LongWindow) {
		s.Lateral = s.Lateral[:0]
	}
	b := ev.DestIP.As16()
	var added bool
	if s.Lateral, added = addDistinct(s.Lateral, fnv(fnvOffset, string(b[:])), 256); !added {
		return
	}
	if n := len(s.Lateral); n >= lateralHosts {
		e.add(ThreatLateral, "", "%s completed sessions with %d internal hosts on admin and file-sharing ports in %s, the latest %s:%d",
			ev.SrcIP, n, since(e.now, s.LateralStart), ev.DestIP, ev.DestPort)
	}
}
