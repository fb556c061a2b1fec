package score

import (
	"fmt"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// Long connections, as RITA lists them: one flow from a monitored host to
// an external one lasting longConn or more (an interactive C2 channel, a
// tunnel). Flows carry their duration when they end (Zeek's conn.log,
// Suricata's flow events), so the alert comes then.
const longConn = time.Hour

// sshPort finds SSH, named by its content (the ip event's service, from
// nfr-capture or Zeek's conn.log), to an external host on a port other
// than 22 or 2222: an SSH server hidden on 443 or 465 to get through an
// egress filter, or a reverse tunnel's endpoint.
func (e *Engine) sshPort(ev *event.Event) {
	if ev.DestPort == 22 || ev.DestPort == 2222 || !hasService(ev.Service, "ssh") ||
		!e.isInternal(ev.SrcIP) || !e.isExternal(ev.DestIP) {
		return
	}
	subject := fmt.Sprintf("%s:%d", ev.DestIP, ev.DestPort)
	e.add(ThreatSSHPort, subject, "SSH from %s to %s, not on port 22 (sent %s, received %s)",
		ev.SrcIP, subject, size(ev.BytesOut), size(ev.BytesIn))
}

func (e *Engine) longConn(ev *event.Event) {
	d := time.Duration(ev.Duration * float64(time.Second))
	if d < longConn || !e.isInternal(ev.SrcIP) || !e.isExternal(ev.DestIP) {
		return
	}
	subject := fmt.Sprintf("%s:%d", ev.DestIP, ev.DestPort)
	e.add(ThreatLongConn, subject, "one %s connection from %s to %s lasted %s (sent %s, received %s)",
		ev.Proto, ev.SrcIP, subject, d.Round(time.Minute), size(ev.BytesOut), size(ev.BytesIn))
}
