package score

import (
	"net/netip"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/intel"
)

// lookup checks names and addresses against the built-in lists, the user
// feeds and the addresses listed names resolved to, and names for
// lookalikes of brands (lookalike.go). The engine runs the name check for
// every event that carries a name before the detectors (observe), since
// the registered domain and the clean-name cache are facts they share;
// the two detectors below turn its matches into findings where the
// detectors' order puts them. Names and addresses that matched nothing
// are cached, so the common case costs one map lookup instead of a
// dozen.
type lookup struct {
	builtin    *intel.Set
	feeds      *intel.Set
	resolved   *table[netip.Addr, resolvedInfo] // addresses of listed names
	names      map[string]nameInfo              // per registered domain: name statistics, cleared when full
	cleanNames map[uint64]cleanName             // by hash of the name
	cleanAddrs map[[16]byte]struct{}
	ms         []intel.Match
}

// resolvedInfo remembers that an address was the answer for a listed name,
// or (Threat "stratum") for a name of a mining pool (mining.go).
type resolvedInfo struct {
	Name   string
	Threat string
}

// cleanName is what the engine keeps of a name that matched nothing:
// where its registered domain starts, and the domain's DGA statistics once
// worked out. It holds no pointers, so the collector skips the cache.
type cleanName struct {
	regOff       int
	ok           bool
	miningStrong bool
	miningWeak   bool
	answered     int64 // Unix seconds its answers were last recorded (pairs.go)
	hasDGA       bool
	dga          float64
	st           labelStats
}

func newLookup(builtin, feeds *intel.Set, maxDomains int) *lookup {
	return &lookup{builtin: builtin, feeds: feeds, resolved: newTable[netip.Addr, resolvedInfo](maxDomains),
		names: map[string]nameInfo{}, cleanNames: map[uint64]cleanName{}, cleanAddrs: map[[16]byte]struct{}{}}
}

// setFeeds replaces the user feeds; what was clean may match now.
func (l *lookup) setFeeds(s *intel.Set) {
	l.feeds = s
	clear(l.cleanNames)
	clear(l.cleanAddrs)
}

// checkName checks o.name (what it is in the event) into o: its matches
// into o.nameHits, its registered domain, its cache entry.
func (l *lookup) checkName(o *observation, what string) {
	name, f := o.name, &o.nameHits
	k := hash(name)
	o.cleanKey = k
	if v, hit := l.cleanNames[k]; hit {
		o.clean, o.hasClean, o.cleanHit = v, true, true
		o.reg, o.regOK = name[v.regOff:], v.ok
		return
	}
	n := l.matchName(f, name, what, o.ev)
	reg, ok := Registered(name)
	if ok && strings.HasSuffix(reg, ".arpa") {
		ok = false
	}
	o.reg, o.regOK = reg, ok
	h := len(f.hits)
	if ok {
		l.imposter(f, name, reg, mainLabel(reg), what)
		// Vendors' own infrastructure names carry their brands
		// (microsoft.com.nsatc.net): not imposters.
		if len(f.hits) > h && l.allowedInfra(name) {
			f.hits = f.hits[:h]
		}
	}
	if n == 0 && len(f.hits) == h {
		c := cleanName{regOff: len(name), ok: ok}
		c.miningStrong, c.miningWeak = miningName(name)
		if ok {
			c.regOff = len(name) - len(reg)
		}
		o.clean, o.hasClean = c, true
		l.keepClean(o)
	}
}

// keepClean stores o's clean-name entry back into the cache.
func (l *lookup) keepClean(o *observation) {
	if _, ok := l.cleanNames[o.cleanKey]; !ok && len(l.cleanNames) >= maxNameCache {
		clear(l.cleanNames)
	}
	l.cleanNames[o.cleanKey] = o.clean
}

// matchName checks a host name (a DNS query, SNI or HTTP host) against the
// built-in lists and the feeds; what names it in reasons.
func (l *lookup) matchName(f *findings, name, what string, ev *event.Event) (matches int) {
	l.ms = l.builtin.AppendDomain(l.ms[:0], name)
	matches += len(l.ms)
	for _, m := range l.ms {
		switch m.Threat {
		case "dynamic_dns", "suspicious_tld", "ip_lookup":
			f.flag(m.Threat)
		case "doh":
			if what == "query" {
				f.flag("doh_domain")
			} else if ev.Type == event.TypeTLS && ev.DestPort == 853 {
				f.add(ThreatDoT, m.Indicator, "%s %s on tcp/853 is the public resolver %s (DNS over TLS)", what, name, m.Indicator)
			} else {
				f.add(ThreatDoH, m.Indicator, "%s %s is the public DNS-over-HTTPS endpoint %s", what, name, m.Indicator)
			}
		case "allow_tunnel", "public_resolver", "allow_infra":
		case ThreatSinkhole:
			f.add(ThreatSinkhole, m.Indicator, "%s %s is the sinkhole %s (built-in list %s)", what, name, m.Indicator, m.Source)
		default:
			f.add(m.Threat, m.Indicator, "%s %s matches %s on the built-in %s list", what, name, m.Indicator, m.Source)
		}
	}
	if l.feeds != nil {
		// Only a match boxes the subject for the message.
		if l.ms = l.feeds.AppendDomain(l.ms[:0], name); len(l.ms) > 0 {
			matches += l.feedMatches(f, what, name)
		}
	}
	if strings.HasSuffix(name, ".onion") {
		f.add(ThreatTor, name, "%s %s is a Tor onion service", what, name)
		matches++
	}
	return matches
}

// checkAddr runs matchAddr, skipping the lists for addresses that matched
// nothing before.
func (l *lookup) checkAddr(f *findings, a netip.Addr, port uint16, what string) {
	if _, ok := l.cleanAddrs[a.As16()]; ok {
		l.matchResolved(f, a, port, what)
		return
	}
	if l.matchAddr(f, a, port, what) == 0 {
		l.markClean(a)
	}
}

func (l *lookup) markClean(a netip.Addr) {
	if len(l.cleanAddrs) >= maxNameCache {
		clear(l.cleanAddrs)
	}
	l.cleanAddrs[a.As16()] = struct{}{}
}

// matchAddr checks an address against the lists, the feeds and the
// addresses listed names resolved to.
func (l *lookup) matchAddr(f *findings, a netip.Addr, port uint16, what string) (matches int) {
	l.ms = l.builtin.AppendIP(l.ms[:0], a)
	matches += len(l.ms)
	for _, m := range l.ms {
		switch m.Threat {
		case "public_resolver":
			switch port {
			case 853:
				f.add(ThreatDoT, m.Indicator, "%s %s:853 is the public resolver %s (DNS over TLS)", what, a, m.Indicator)
			case 443:
				f.add(ThreatDoH, m.Indicator, "%s %s:443 is the public resolver %s (DNS over HTTPS)", what, a, m.Indicator)
			}
		case "tor":
			kind := "a Tor directory authority"
			if m.Source == "tor-fallbacks" {
				kind = "a Tor fallback directory mirror, which clients contact when they bootstrap"
			}
			f.add(ThreatTor, m.Indicator, "%s %s is %s (built-in list %s)", what, a, kind, m.Source)
		default:
			f.add(m.Threat, m.Indicator, "%s %s matches %s on the built-in %s list", what, a, m.Indicator, m.Source)
		}
	}
	if l.feeds != nil {
		// Only a match boxes the subject for the message.
		if l.ms = l.feeds.AppendIP(l.ms[:0], a); len(l.ms) > 0 {
			matches += l.feedMatches(f, what, a)
		}
	}
	l.matchResolved(f, a, port, what)
	return matches
}

// matchResolved checks what does not depend on the address alone: feed
// entries with a port, and addresses that listed names resolved to.
func (l *lookup) matchResolved(f *findings, a netip.Addr, port uint16, what string) {
	if l.feeds != nil && port != 0 {
		l.feeds.MatchAddrPort(netip.AddrPortFrom(a, port), func(m string, t intel.Tag) {
			f.flag("feed")
			f.add(t.Threat, m, "%s %s matches %s on feed %s", what, m, m, t.Source)
		})
	}
	if l.resolved.len() > 0 {
		if r, ok := l.resolved.peek(a); ok && r.Threat != "stratum" {
			f.add(r.Threat, a.String(), "%s %s is an address of %s", what, a, r.Name)
		}
	}
}

// feedMatches adds the feed matches in l.ms for subject (a name or an
// address, what it is in the event) and returns how many there were.
func (l *lookup) feedMatches(f *findings, what string, subject any) int {
	for _, m := range l.ms {
		f.flag("feed")
		f.add(m.Threat, m.Indicator, "%s %v matches %s on feed %s", what, subject, m.Indicator, m.Source)
	}
	return len(l.ms)
}

// allowedInfra reports whether name belongs to the built-in update,
// telemetry, CDN and DNSBL infrastructure (lists/infra-allow.txt).
func (l *lookup) allowedInfra(name string) bool {
	_, ok := l.builtin.HasDomain(name, "allow_infra")
	return ok
}

// answersOf checks the answers of a DNS query: sinkhole names and
// addresses, feed addresses; and remembers the addresses of a listed
// name, so the connections that follow the lookup are recognised too.
func (l *lookup) answersOf(o *observation, f *findings) {
	q := o.name
	for _, ans := range o.ev.Answers {
		a, err := netip.ParseAddr(ans)
		if err != nil {
			if n := intel.NormalizeDomain(ans); n != "" {
				if m, ok := l.builtin.HasDomain(n, "sinkhole"); ok {
					f.add(ThreatSinkhole, m, "%s is answered by the sinkhole name %s", q, n)
				} else if strings.Contains(n, "sinkhole") {
					f.add(ThreatSinkhole, n, "%s is answered by %s, a sinkhole by its name", q, n)
				}
			}
			continue
		}
		if _, clean := l.cleanAddrs[a.As16()]; !clean {
			l.ms = l.builtin.AppendIP(l.ms[:0], a)
			n := len(l.ms)
			for _, m := range l.ms {
				if m.Threat == ThreatSinkhole {
					f.add(ThreatSinkhole, q, "%s resolves to the sinkhole address %s (built-in list %s)", q, a, m.Source)
				}
			}
			if l.feeds != nil {
				l.ms = l.feeds.AppendIP(l.ms[:0], a)
				n += len(l.ms)
				for _, m := range l.ms {
					f.flag("feed")
					f.add(m.Threat, q, "%s resolves to %s, listed as %s on feed %s", q, a, m.Indicator, m.Source)
				}
			}
			if n == 0 {
				l.markClean(a)
			}
		}
		if o.listed != "" {
			*l.resolved.get(a, o.now) = resolvedInfo{Name: q, Threat: o.listed}
		}
	}
}

// names is the detector of what lookup found in an event's name (and,
// for DNS, in its answers).
type names struct{ *lookup }

func (names) name() string { return "names" }
func (names) on() kinds    { return onDNS | onHTTP | onTLS }

// threats lists the ids of the built-in lists and of the lookalike
// check; feeds may name any id of the catalog.
func (names) threats() []string {
	return []string{ThreatC2, ThreatMalware, ThreatVPN, ThreatOAST, ThreatPublicAPI, ThreatSinkhole, ThreatTor, ThreatDoH, ThreatDoT, ThreatImposter}
}

func (n names) observe(o *observation, f *findings) {
	f.merge(&o.nameHits)
	if o.ev.Type == event.TypeDNS {
		n.answersOf(o, f)
	}
}

func (n names) sweep(now time.Time, long bool) {
	if long {
		n.resolved.expire(now.Add(-24 * time.Hour))
	}
}

func (n names) tables() []stateTable { return []stateTable{n.resolved} }

// addresses is the detector of what lookup finds in an event's
// addresses, and of the feeds' URLs and TLS fingerprints.
type addresses struct{ *lookup }

func (addresses) name() string      { return "addresses" }
func (addresses) on() kinds         { return onIP | onHTTP | onTLS }
func (addresses) threats() []string { return nil } // those of names

func (l addresses) observe(o *observation, f *findings) {
	ev := o.ev
	switch ev.Type {
	case event.TypeIP:
		l.checkAddr(f, ev.DestIP, ev.DestPort, "destination")
		if o.srcExternal {
			l.checkAddr(f, ev.SrcIP, 0, "source")
		}
		return
	case event.TypeHTTP:
		if host := o.host; l.feeds != nil && host != "" {
			l.feeds.MatchURL(host, ev.URL, func(m string, t intel.Tag) {
				f.flag("feed")
				f.add(t.Threat, m, "URL %s%s matches %s on feed %s", host, ev.URL, m, t.Source)
			})
		}
	case event.TypeTLS:
		if l.feeds != nil {
			for _, h := range [...]string{ev.JA3, ev.JA3S} {
				if h != "" {
					l.feeds.MatchJA3(h, func(m string, t intel.Tag) {
						f.flag("feed")
						f.add(t.Threat, m, "TLS fingerprint JA3 %s is on feed %s", m, t.Source)
					})
				}
			}
			if ev.JA4 != "" {
				l.feeds.MatchJA4(ev.JA4, func(m string, t intel.Tag) {
					f.flag("feed")
					f.add(t.Threat, m, "TLS fingerprint JA4 %s is on feed %s", m, t.Source)
				})
			}
		}
	}
	if ev.DestIP.IsValid() {
		l.checkAddr(f, ev.DestIP, ev.DestPort, "destination")
	}
}
