package score

import (
	"fmt"

	"github.com/nfr-project/nfr/pkg/event"
)

// Two DNS checks on where and what a monitored host asks:
//
//   - dns_probe: the CHAOS-class names servers answer with their software
//     and identity (version.bind, hostname.bind, id.server, ...): a
//     scanner fingerprinting resolvers;
//   - dns_external (policy): a query straight to a resolver outside the
//     monitored networks on udp/tcp 53 once the network is seen to have
//     its own (a monitored host asked a monitored address on port 53:
//     without one, outside resolvers are simply the resolvers), or a DNS
//     query on a port that is not a DNS one (53, 5353 mDNS, 5355 LLMNR,
//     137 NetBIOS); both bypass the local resolver and its logging.

var chaosNames = map[string]bool{"version.bind": true, "hostname.bind": true, "id.server": true, "version.server": true,
	"authors.bind": true, "version.pdns": true, "version.maradns": true}

var dnsPorts = map[uint16]bool{53: true, 5353: true, 5355: true, 137: true}

func (e *Engine) dnsPolicy(ev *event.Event, q string) {
	if chaosNames[q] {
		e.add(ThreatDNSProbe, q, "query %s (%s) asks %s for its DNS software or identity", q, ev.QType, ev.DestIP)
	}
	if !ev.DestIP.IsValid() || !e.isInternal(ev.SrcIP) {
		return
	}
	if ev.DestPort == 53 && e.isInternal(ev.DestIP) && ev.RCode != "" {
		e.localResolver = true
	}
	switch {
	case ev.DestPort != 0 && !dnsPorts[ev.DestPort]:
		e.add(ThreatDNSExternal, fmt.Sprint(ev.DestIP, ":", ev.DestPort), "DNS query %s to %s on port %d, not a DNS port", q, ev.DestIP, ev.DestPort)
	case ev.DestPort == 53 && e.localResolver && e.isExternal(ev.DestIP):
		e.add(ThreatDNSExternal, ev.DestIP.String(), "DNS query %s sent straight to the outside resolver %s", q, ev.DestIP)
	}
}
