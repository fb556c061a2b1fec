package score

import (
	"net/netip"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// observation holds the facts about one event that several detectors
// need, worked out once by the engine before the detectors see it: where
// the addresses are, the name it carries checked against the lists
// (lookup.go) with its registered domain, and for connections their
// outcome and the state of their pair (pairs.go). The engine reuses one
// for every event; detectors must not keep it.
type observation struct {
	ev      *event.Event
	now     time.Time
	history time.Duration // event time since the engine's history began

	srcInternal, srcExternal bool
	dstInternal, dstExternal bool

	// The DNS query, TLS server name or HTTP host (not an address), when
	// the event has one, and what the lists and the lookalike check found
	// in it.
	name     string
	host     string // the HTTP host, address or name
	reg      string
	regOK    bool
	nameHits findings
	listed   string // for DNS, the listed threat the query's addresses serve
	clean    cleanName
	hasClean bool // clean is the cache entry of a name that matched nothing
	cleanHit bool // and it was in the cache already
	cleanKey uint64
	// newDomain: no host had looked the registered domain up before
	// (set by the firstSeen detector for the detectors after it).
	newDomain bool
	look      *lookup

	// Connections (ip events).
	proto               uint8
	failed, established bool
	pair                *pairState // nil when the pair is not kept (pairs.go)
	newPair, bulk       bool
}

// dga returns the DGA statistics of the registered domain of the event's
// name: cached per name (with the name's clean-name cache entry), from
// the lookup's nameInfo, which works them out per domain.
func (o *observation) dga() (float64, labelStats) {
	if o.hasClean {
		c := &o.clean
		if !c.hasDGA {
			ni := o.look.nameInfo(o.reg, mainLabel(o.reg))
			c.dga, c.st, c.hasDGA = ni.dga, ni.st, true
			o.look.keepClean(o)
		}
		return c.dga, c.st
	}
	ni := o.look.nameInfo(o.reg, mainLabel(o.reg))
	return ni.dga, ni.st
}

// observe works out the facts of ev into o; false means no detector has
// anything to do with the event.
func (e *Engine) observe(ev *event.Event, o *observation) bool {
	nh := o.nameHits
	nh.reset()
	*o = observation{ev: ev, now: e.now, look: e.look, nameHits: nh}
	if !e.since.IsZero() {
		o.history = e.now.Sub(e.since)
	}
	o.srcInternal = e.nets.internal(ev.SrcIP)
	o.srcExternal = !o.srcInternal && routable(ev.SrcIP)
	o.dstInternal = e.nets.internal(ev.DestIP)
	o.dstExternal = !o.dstInternal && routable(ev.DestIP)
	switch ev.Type {
	case event.TypeDNS:
		q := strings.TrimSuffix(ev.Query, ".")
		if q == "" {
			return false
		}
		o.name = q
		e.look.checkName(o, "query")
		o.listed = o.nameHits.listed()
		e.answers.record(o)
	case event.TypeIP:
		if !ev.DestIP.IsValid() {
			return false
		}
		o.proto = protoNum(ev.Proto)
		o.failed, o.established = failed(ev), established(ev)
		e.pairs.observe(o)
	case event.TypeHTTP:
		host := hostOnly(ev.Host)
		if host == "" {
			break
		}
		o.host = host
		if _, err := netip.ParseAddr(host); err != nil {
			o.name = host
			e.look.checkName(o, "HTTP host")
		}
	case event.TypeTLS:
		if sni := strings.ToLower(strings.TrimSuffix(ev.SNI, ".")); sni != "" {
			o.name = sni
			e.look.checkName(o, "SNI")
		}
	default:
		return false
	}
	return true
}

// networks tells monitored addresses from the rest.
type networks []netip.Prefix

// internal reports whether a belongs to the monitored networks.
func (n networks) internal(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range n {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// routable reports whether a can be a host's address: not multicast,
// broadcast, unspecified, loopback or link-local.
func routable(a netip.Addr) bool {
	if !a.IsValid() || a.IsMulticast() || a.IsUnspecified() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return false
	}
	return !a.Is4() || a.As4()[3] != 255
}
