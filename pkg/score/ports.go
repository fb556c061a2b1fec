package score

import (
	"fmt"

	"github.com/nfr-project/nfr/pkg/event"
)

// Policy by port: what a connection's destination port alone says. IRC
// to an outside server; a clear-text login protocol from a monitored
// host; Tor relay ports, DNS over TLS or QUIC (853) and mining pools'
// stratum ports towards the Internet. A stratum port on an address a pool
// name resolved to (mining.go) is mining whatever the port; the ports
// that only pools use are mining on their own; the others only flag.
type ports struct{ *lookup }

var cleartextPorts = map[uint16]string{21: "FTP", 23: "Telnet", 110: "POP3", 143: "IMAP", 873: "rsync", 512: "rexec", 513: "rlogin", 514: "rsh", 109: "POP2"}

var stratumPorts = map[uint16]bool{3333: true, 4444: true, 5555: true, 7777: true, 14444: true, 14433: true, 45700: true, 45560: true, 9999: true, 3334: true, 8008: true, 20535: true}

// miningPorts are the stratum ports hardly anything else uses towards the
// Internet; a completed connection to one is an alert on its own. (4444,
// 5555, 7777 and 9999 serve games and tools too: they only flag.)
var miningPorts = map[uint16]bool{3333: true, 3334: true, 14444: true, 14433: true, 45560: true, 45700: true, 20535: true}

var torPorts = map[uint16]bool{9001: true, 9030: true, 9050: true, 9051: true, 9150: true}

func (ports) name() string { return "ports" }
func (ports) on() kinds    { return onIP | onTLS }
func (ports) threats() []string {
	return []string{ThreatIRC, ThreatCleartext, ThreatTor, ThreatDoT, ThreatMining}
}

func (p ports) observe(o *observation, f *findings) {
	ev := o.ev
	dst, port := ev.DestIP, ev.DestPort
	if ev.Type == event.TypeTLS {
		if port == 853 && o.dstExternal {
			f.add(ThreatDoT, dst.String(), "DNS over TLS (tcp/853) to %s, SNI %q", dst, o.name)
		}
		return
	}
	switch o.proto {
	case 17:
		if port == 853 && o.dstExternal {
			f.add(ThreatDoT, dst.String(), "DNS over QUIC/DTLS (udp/853) to %s", dst)
		}
		return
	case 6:
	default:
		return
	}
	if ircPort(port) && o.dstExternal {
		f.add(ThreatIRC, dst.String(), "IRC (tcp/%d) connection to %s", port, dst)
	}
	if o.failed || !o.established {
		return
	}
	// Clear text matters when a monitored host logs in somewhere; inbound
	// attempts from the Internet are the scanners' business.
	if name, ok := cleartextPorts[port]; ok && ev.BytesOut > 0 && o.srcInternal {
		f.add(ThreatCleartext, fmt.Sprint(dst, ":", port), "%s (tcp/%d) session to %s, %d bytes sent in clear text", name, port, dst, ev.BytesOut)
	}
	if !o.dstExternal {
		return
	}
	switch {
	case torPorts[port]:
		f.add(ThreatTor, dst.String(), "connection to %s on tcp/%d, a well-known Tor relay port", dst, port)
	case port == 853:
		f.add(ThreatDoT, dst.String(), "DNS over TLS (tcp/853) to %s", dst)
	case stratumPorts[port]:
		f.flag("stratum_port")
		if r, ok := p.resolved.peek(dst); ok && r.Threat == "stratum" {
			f.add(ThreatMining, dst.String(), "stratum port tcp/%d on %s, an address of %s", port, dst, r.Name)
		} else if miningPorts[port] {
			f.add(ThreatMining, dst.String(), "connection to %s on tcp/%d, a port mining pools serve stratum on", dst, port)
		}
	}
}

func ircPort(p uint16) bool { return p >= 6660 && p <= 6669 || p == 6697 }
