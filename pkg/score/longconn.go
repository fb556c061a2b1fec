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

func (e *Engine) longConn(ev *event.Event) {
	d := time.Duration(ev.Duration * float64(time.Second))
	if d < longConn || !e.isInternal(ev.SrcIP) || !e.isExternal(ev.DestIP) {
		return
	}
	subject := fmt.Sprintf("%s:%d", ev.DestIP, ev.DestPort)
	e.add(ThreatLongConn, subject, "one %s connection from %s to %s lasted %s (sent %s, received %s)",
		ev.Proto, ev.SrcIP, subject, d.Round(time.Minute), size(ev.BytesOut), size(ev.BytesIn))
}
