package score

import (
	"fmt"
	"time"
)

// Long connections, as RITA lists them: one flow from a monitored host to
// an external one lasting longConn or more (an interactive C2 channel, a
// tunnel). Flows carry their duration when they end (Zeek's conn.log,
// Suricata's flow events), so the alert comes then.
//
// And SSH, named by its content (the ip event's service, from nfr-capture
// or Zeek's conn.log), to an external host on a port other than 22 or
// 2222: an SSH server hidden on 443 or 465 to get through an egress
// filter, or a reverse tunnel's endpoint.
const longConn = time.Hour

type longConns struct{}

func (longConns) name() string      { return "long_conn" }
func (longConns) on() kinds         { return onIP }
func (longConns) threats() []string { return []string{ThreatLongConn, ThreatSSHPort} }

func (longConns) observe(o *observation, f *findings) {
	ev := o.ev
	if o.proto != 6 || o.failed || !o.srcInternal || !o.dstExternal {
		return
	}
	if d := time.Duration(ev.Duration * float64(time.Second)); d >= longConn {
		subject := fmt.Sprintf("%s:%d", ev.DestIP, ev.DestPort)
		f.add(ThreatLongConn, subject, "one %s connection from %s to %s lasted %s (sent %s, received %s)",
			ev.Proto, ev.SrcIP, subject, d.Round(time.Minute), size(ev.BytesOut), size(ev.BytesIn))
	}
	if ev.DestPort != 22 && ev.DestPort != 2222 && hasService(ev.Service, "ssh") {
		subject := fmt.Sprintf("%s:%d", ev.DestIP, ev.DestPort)
		f.add(ThreatSSHPort, subject, "SSH from %s to %s, not on port 22 (sent %s, received %s)",
			ev.SrcIP, subject, size(ev.BytesOut), size(ev.BytesIn))
	}
}
