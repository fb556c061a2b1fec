package score

import (
	"fmt"
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

type dnsPolicy struct {
	localResolver bool // a monitored host was answered by a monitored address on port 53
}

func newDNSPolicy() *dnsPolicy { return &dnsPolicy{} }

func (*dnsPolicy) name() string      { return "dns_policy" }
func (*dnsPolicy) on() kinds         { return onDNS }
func (*dnsPolicy) threats() []string { return []string{ThreatDNSProbe, ThreatDNSExternal} }

func (d *dnsPolicy) observe(o *observation, f *findings) {
	ev, q := o.ev, o.name
	if chaosNames[q] {
		f.add(ThreatDNSProbe, q, "query %s (%s) asks %s for its DNS software or identity", q, ev.QType, ev.DestIP)
	}
	if !ev.DestIP.IsValid() || !o.srcInternal {
		return
	}
	if ev.DestPort == 53 && o.dstInternal && ev.RCode != "" {
		d.localResolver = true
	}
	switch {
	case ev.DestPort != 0 && !dnsPorts[ev.DestPort]:
		f.add(ThreatDNSExternal, fmt.Sprint(ev.DestIP, ":", ev.DestPort), "DNS query %s to %s on port %d, not a DNS port", q, ev.DestIP, ev.DestPort)
	case ev.DestPort == 53 && d.localResolver && o.dstExternal:
		f.add(ThreatDNSExternal, ev.DestIP.String(), "DNS query %s sent straight to the outside resolver %s", q, ev.DestIP)
	}
}
