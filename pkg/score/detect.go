package score

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/intel"
)

// srcState is what the engine remembers about one source address. Each
// part is a tumbling window that restarts when its time is up.
type srcState struct {
	Start time.Time // DGA and NXDOMAIN window
	DGA   []uint64  // distinct generated-looking registered domains
	NX    []uint64  // distinct registered domains answered NXDOMAIN

	ScanStart time.Time
	Scanned   targets // unanswered (address, port) pairs

	Lookups int // DNS lookups seen (see direct.go)

	LateralStart time.Time
	Lateral      []uint64 // internal hosts with admin-port sessions (lateral.go)

	ProbeStart time.Time
	Probed     targets // handshakes (probe.go)

	SpamStart time.Time
	Spam      []netip.Addr // external SMTP servers tried
	SpamDone  int          // of them, with a completed session
	MX        int          // MX lookups
}

// domState is what the engine remembers about one registered domain.
type domState struct {
	Start   time.Time
	Queries int
	TXT     int
	Names   map[uint64]struct{} // distinct long names under the domain
	LenSum  float64
	EntSum  float64
}

type pairKey struct {
	Src, Dst [16]byte // netip.Addr.As16: no pointers for the collector
	Port     uint16
	Proto    uint8 // 1 icmp, 6 tcp, 17 udp
}

// pairState is what the engine remembers about one source and destination.
type pairState struct {
	UpStart time.Time
	Out, In int64

	ICMPStart time.Time
	Pkts      int64
	Bytes     int64

	StrobeStart               time.Time
	StrobeConns, StrobeFailed int

	DirectN                 int   // TLS sessions without SNI (see direct.go)
	DirectFirst, DirectLast int64 // Unix ms

	Beacon beaconState // beacon.go
}

// resolvedInfo remembers that an address was the answer for a listed name.
type resolvedInfo struct {
	Name   string
	Threat string
}

const (
	maxNames   = 1024
	maxTargets = 4096
)

// roll restarts a tumbling window when it is over.
func roll(start *time.Time, now time.Time, w time.Duration) bool {
	if start.IsZero() || now.Sub(*start) >= w || now.Before(*start) {
		*start = now
		return true
	}
	return false
}

func addDistinct(s []uint64, h uint64, max int) ([]uint64, bool) {
	for _, x := range s {
		if x == h {
			return s, false
		}
	}
	if len(s) >= max {
		return s, false
	}
	return append(s, h), true
}

// hash is FNV-1a: stable across runs, so saved state keeps its meaning.
func (e *Engine) hash(s string) uint64 { return fnv(fnvOffset, s) }

const fnvOffset = 14695981039346656037

func fnv(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// since says how long a window has run: at least a second.
func since(now, start time.Time) string {
	return dur(max(now.Sub(start), time.Second).Round(time.Second))
}

func dur(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}

// matchName checks a host name (a DNS query, SNI or HTTP host) against the
// built-in lists and the feeds; what names it in reasons.
func (e *Engine) matchName(name, what string) (matches int) {
	e.ms = e.builtin.AppendDomain(e.ms[:0], name)
	matches += len(e.ms)
	for _, m := range e.ms {
		switch m.Threat {
		case "dynamic_dns", "suspicious_tld", "ip_lookup":
			e.flag(m.Threat)
		case "doh":
			if what == "query" {
				e.flag("doh_domain")
			} else if e.port == 853 {
				e.add(ThreatDoT, m.Indicator, "%s %s on tcp/853 is the public resolver %s (DNS over TLS)", what, name, m.Indicator)
			} else {
				e.add(ThreatDoH, m.Indicator, "%s %s is the public DNS-over-HTTPS endpoint %s", what, name, m.Indicator)
			}
		case "allow_tunnel", "public_resolver", "allow_infra":
		case ThreatSinkhole:
			e.add(ThreatSinkhole, m.Indicator, "%s %s is the sinkhole %s (built-in list %s)", what, name, m.Indicator, m.Source)
		default:
			e.add(m.Threat, m.Indicator, "%s %s matches %s on the built-in %s list", what, name, m.Indicator, m.Source)
		}
	}
	if e.feeds != nil {
		// Only a match boxes the subject for the message.
		if e.ms = e.feeds.AppendDomain(e.ms[:0], name); len(e.ms) > 0 {
			matches += e.addFeedMatches(what, name)
		}
	}
	if strings.HasSuffix(name, ".onion") {
		e.add(ThreatTor, name, "%s %s is a Tor onion service", what, name)
		matches++
	}
	return matches
}

// checkName runs matchName and the lookalike check on a host name and
// returns its registered domain. Names that match nothing are remembered,
// so the common case costs one map lookup instead of a dozen.
func (e *Engine) checkName(name, what string) (reg string, ok bool) {
	k := e.hash(name)
	e.cleanKey = k
	if v, hit := e.cleanNames[k]; hit {
		e.clean = v
		e.hasClean, e.cleanHit = true, true
		return name[v.regOff:], v.ok
	}
	e.hasClean, e.cleanHit = false, false
	n := e.matchName(name, what)
	reg, ok = Registered(name)
	if ok && strings.HasSuffix(reg, ".arpa") {
		ok = false
	}
	h := len(e.hits)
	if ok {
		e.imposter(name, reg, mainLabel(reg), what)
		// Vendors' own infrastructure names carry their brands
		// (microsoft.com.nsatc.net): not imposters.
		if len(e.hits) > h && e.allowedInfra(name) {
			e.hits = e.hits[:h]
		}
	}
	if n == 0 && len(e.hits) == h {
		if len(e.cleanNames) >= maxNameCache {
			clear(e.cleanNames)
		}
		c := cleanName{regOff: len(name), ok: ok}
		c.miningStrong, c.miningWeak = miningName(name)
		if ok {
			c.regOff = len(name) - len(reg)
		}
		e.cleanNames[k] = c
		e.clean, e.hasClean = c, true
	}
	return reg, ok
}

// cleanName is what the engine keeps of a name that matched nothing:
// where its registered domain starts, and the domain's DGA statistics once
// worked out. It holds no pointers, so the collector skips the cache.
type cleanName struct {
	regOff       int
	ok           bool
	miningStrong bool
	miningWeak   bool
	answered     int64 // Unix seconds its answers were last recorded (direct.go)
	hasDGA       bool
	dga          float64
	st           labelStats
}

// dgaOf returns the DGA statistics of reg (the registered domain of q),
// kept with the clean-name entry checkName found or made for q.
func (e *Engine) dgaOf(q, reg string) (float64, labelStats) {
	if e.hasClean {
		c := &e.clean
		if !c.hasDGA {
			ni := e.nameInfo(reg, mainLabel(reg))
			c.dga, c.st, c.hasDGA = ni.dga, ni.st, true
			e.cleanNames[e.cleanKey] = *c
		}
		return c.dga, c.st
	}
	ni := e.nameInfo(reg, mainLabel(reg))
	return ni.dga, ni.st
}

// checkAddr runs matchAddr, skipping the lists for addresses that matched
// nothing before.
func (e *Engine) checkAddr(a netip.Addr, port uint16, what string) {
	if _, ok := e.cleanAddrs[a.As16()]; ok {
		e.matchResolved(a, port, what)
		return
	}
	if e.matchAddr(a, port, what) == 0 {
		e.markClean(a)
	}
}

func (e *Engine) markClean(a netip.Addr) {
	if len(e.cleanAddrs) >= maxNameCache {
		clear(e.cleanAddrs)
	}
	e.cleanAddrs[a.As16()] = struct{}{}
}

// matchAddr checks an address against the lists, the feeds and the
// addresses listed names resolved to.
func (e *Engine) matchAddr(a netip.Addr, port uint16, what string) (matches int) {
	e.ms = e.builtin.AppendIP(e.ms[:0], a)
	matches += len(e.ms)
	for _, m := range e.ms {
		switch m.Threat {
		case "public_resolver":
			switch port {
			case 853:
				e.add(ThreatDoT, m.Indicator, "%s %s:853 is the public resolver %s (DNS over TLS)", what, a, m.Indicator)
			case 443:
				e.add(ThreatDoH, m.Indicator, "%s %s:443 is the public resolver %s (DNS over HTTPS)", what, a, m.Indicator)
			}
		case "tor":
			kind := "a Tor directory authority"
			if m.Source == "tor-fallbacks" {
				kind = "a Tor fallback directory mirror, which clients contact when they bootstrap"
			}
			e.add(ThreatTor, m.Indicator, "%s %s is %s (built-in list %s)", what, a, kind, m.Source)
		default:
			e.add(m.Threat, m.Indicator, "%s %s matches %s on the built-in %s list", what, a, m.Indicator, m.Source)
		}
	}
	if e.feeds != nil {
		// Only a match boxes the subject for the message.
		if e.ms = e.feeds.AppendIP(e.ms[:0], a); len(e.ms) > 0 {
			matches += e.addFeedMatches(what, a)
		}
	}
	e.matchResolved(a, port, what)
	return matches
}

// matchResolved checks what does not depend on the address alone: feed
// entries with a port, and addresses that listed names resolved to.
func (e *Engine) matchResolved(a netip.Addr, port uint16, what string) {
	if e.feeds != nil && port != 0 {
		e.feeds.MatchAddrPort(netip.AddrPortFrom(a, port), func(m string, t intel.Tag) {
			e.flag("feed")
			e.add(t.Threat, m, "%s %s matches %s on feed %s", what, m, m, t.Source)
		})
	}
	if e.resolved.len() > 0 {
		if r, ok := e.resolved.peek(a); ok && r.Threat != "stratum" {
			e.add(r.Threat, a.String(), "%s %s is an address of %s", what, a, r.Name)
		}
	}
}

func (e *Engine) scoreDNS(ev *event.Event) {
	q := strings.TrimSuffix(ev.Query, ".")
	if q == "" {
		return
	}
	if ev.QType == "MX" && e.isInternal(ev.SrcIP) {
		e.mxLookup(ev)
	}
	e.lookedUpBy(ev.SrcIP)
	e.dnsPolicy(ev, q)
	if torSNI(q) {
		e.lookedUp(q)
	}
	reg, regOK := e.checkName(q, "query")
	e.answeredOnce(ev, q, reg, regOK)
	// The addresses of listed names are remembered, so the connections
	// that follow the lookup are recognised too.
	listed := ""
	for _, h := range e.hits {
		switch h.id {
		case ThreatMining, ThreatC2, ThreatMalware, ThreatSinkhole, ThreatPublicAPI:
			listed = h.id
		}
	}
	for _, ans := range ev.Answers {
		a, err := netip.ParseAddr(ans)
		if err != nil {
			if n := intel.NormalizeDomain(ans); n != "" {
				if m, ok := e.builtin.HasDomain(n, "sinkhole"); ok {
					e.add(ThreatSinkhole, m, "%s is answered by the sinkhole name %s", q, n)
				} else if strings.Contains(n, "sinkhole") {
					e.add(ThreatSinkhole, n, "%s is answered by %s, a sinkhole by its name", q, n)
				}
			}
			continue
		}
		if _, clean := e.cleanAddrs[a.As16()]; !clean {
			e.ms = e.builtin.AppendIP(e.ms[:0], a)
			n := len(e.ms)
			for _, m := range e.ms {
				if m.Threat == ThreatSinkhole {
					e.add(ThreatSinkhole, q, "%s resolves to the sinkhole address %s (built-in list %s)", q, a, m.Source)
				}
			}
			if e.feeds != nil {
				e.ms = e.feeds.AppendIP(e.ms[:0], a)
				n += len(e.ms)
				for _, m := range e.ms {
					e.flag("feed")
					e.add(m.Threat, q, "%s resolves to %s, listed as %s on feed %s", q, a, m.Indicator, m.Source)
				}
			}
			if n == 0 {
				e.markClean(a)
			}
		}
		if listed != "" {
			*e.resolved.get(a, e.now) = resolvedInfo{Name: q, Threat: listed}
		}
	}
	if !regOK {
		return
	}
	strong, weak := e.clean.miningStrong, e.clean.miningWeak
	if !e.hasClean {
		strong, weak = miningName(q)
	}
	if strong || weak {
		if strong {
			e.add(ThreatMining, reg, "query %s names a mining pool (%s)", q, strongMiningWord(q))
		}
		for _, ans := range ev.Answers {
			if a, err := netip.ParseAddr(ans); err == nil {
				r := e.resolved.get(a, e.now)
				if r.Threat == "" || r.Threat == "stratum" {
					*r = resolvedInfo{Name: q, Threat: "stratum"}
				}
			}
		}
	}
	e.dictDGA(ev, q, reg)
	if !e.cleanHit { // a cached name's domain has been seen
		e.firstSeen(reg)
	}
	e.dga(ev, q, reg)
	e.tunnel(ev, q, reg)
}

func protoNum(p string) uint8 {
	switch p {
	case "tcp":
		return 6
	case "udp":
		return 17
	case "icmp", "icmp6":
		return 1
	}
	return 0
}

// failed reports a connection attempt that got no answer or a reset.
func failed(ev *event.Event) bool {
	switch ev.ConnState {
	case "S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR":
		return true
	case "":
		return ev.PktsIn == 0 && ev.BytesIn == 0 && ev.BytesOut == 0
	}
	return false
}

// established reports a connection that carried data both ways or was
// completed.
func established(ev *event.Event) bool {
	switch ev.ConnState {
	case "SF", "S1", "S2", "S3", "RSTO", "RSTR":
		return true
	case "":
		return ev.PktsIn > 0 && (ev.BytesOut > 0 || ev.BytesIn > 0)
	}
	return ev.BytesOut > 0 && ev.BytesIn > 0
}

var cleartextPorts = map[uint16]string{21: "FTP", 23: "Telnet", 110: "POP3", 143: "IMAP", 873: "rsync", 512: "rexec", 513: "rlogin", 514: "rsh", 109: "POP2"}

var stratumPorts = map[uint16]bool{3333: true, 4444: true, 5555: true, 7777: true, 14444: true, 14433: true, 45700: true, 45560: true, 9999: true, 3334: true, 8008: true, 20535: true}

// miningPorts are the stratum ports hardly anything else uses towards the
// Internet; a completed connection to one is an alert on its own. (4444,
// 5555, 7777 and 9999 serve games and tools too: they only flag.)
var miningPorts = map[uint16]bool{3333: true, 3334: true, 14444: true, 14433: true, 45560: true, 45700: true, 20535: true}

var torPorts = map[uint16]bool{9001: true, 9030: true, 9050: true, 9051: true, 9150: true}

// beaconSkipPorts are services that are periodic by design.
var beaconSkipPorts = map[uint16]bool{53: true, 123: true, 137: true, 138: true, 67: true, 68: true, 1900: true, 5353: true, 5355: true}

func (e *Engine) scoreIP(ev *event.Event) {
	src, dst := ev.SrcIP, ev.DestIP
	if !dst.IsValid() {
		return
	}
	ext := e.isExternal(dst)
	e.wordsConnected(ev)
	e.checkAddr(dst, ev.DestPort, "destination")
	if e.isExternal(src) {
		e.checkAddr(src, 0, "source")
	}
	proto := protoNum(ev.Proto)
	switch proto {
	case 1:
		e.icmp(ev)
		return
	case 6:
	default:
		if proto == 17 && ev.DestPort == 853 && ext {
			e.add(ThreatDoT, dst.String(), "DNS over QUIC/DTLS (udp/853) to %s", dst)
		}
		if proto == 17 && ext {
			p, created := e.pair(pairKey{Src: ev.SrcIP.As16(), Dst: ev.DestIP.As16(), Port: ev.DestPort, Proto: 17}, false)
			if p == nil {
				return
			}
			if created {
				p.seedFirst(e.now)
			}
			e.beaconIP(ev, p, 17)
			e.strobe(ev, p, 17, false)
		}
		return
	}
	port := ev.DestPort
	if port == 25 && ext && e.isInternal(src) {
		e.spam(ev, !failed(ev))
	}
	if ircPort(port) && ext {
		e.add(ThreatIRC, dst.String(), "IRC (tcp/%d) connection to %s", port, dst)
	}
	if failed(ev) {
		e.scan(ev)
		e.strobe(ev, nil, 6, true)
		return
	}
	est := established(ev)
	e.longConn(ev)
	e.sshPort(ev)
	if est {
		e.lateral(ev)
	}
	// Clear text matters when a monitored host logs in somewhere; inbound
	// attempts from the Internet are the scanners' business.
	if name, ok := cleartextPorts[port]; ok && est && ev.BytesOut > 0 && e.isInternal(src) {
		e.add(ThreatCleartext, fmt.Sprint(dst, ":", port), "%s (tcp/%d) session to %s, %d bytes sent in clear text", name, port, dst, ev.BytesOut)
	}
	if ext && est {
		switch {
		case torPorts[port]:
			e.add(ThreatTor, dst.String(), "connection to %s on tcp/%d, a well-known Tor relay port", dst, port)
		case port == 853:
			e.add(ThreatDoT, dst.String(), "DNS over TLS (tcp/853) to %s", dst)
		case stratumPorts[port]:
			e.flag("stratum_port")
			if r, ok := e.resolved.peek(dst); ok && r.Threat == "stratum" {
				e.add(ThreatMining, dst.String(), "stratum port tcp/%d on %s, an address of %s", port, dst, r.Name)
			} else if miningPorts[port] {
				e.add(ThreatMining, dst.String(), "connection to %s on tcp/%d, a port mining pools serve stratum on", dst, port)
			}
		}
	}
	if ext {
		// Flows that send a lot are kept from the first; others from a
		// pair's second connection (pair).
		bulk := ev.BytesOut >= 64<<10 && ev.BytesOut >= 4*ev.BytesIn
		p, newPair := e.pair(pairKey{Src: ev.SrcIP.As16(), Dst: ev.DestIP.As16(), Port: ev.DestPort, Proto: 6}, bulk)
		if p == nil {
			return
		}
		if newPair && !bulk {
			p.seedFirst(e.now)
		}
		e.strobe(ev, p, 6, false)
		if ev.BytesOut > 0 {
			e.upload(ev, p, newPair)
		}
		e.beaconIP(ev, p, 6)
	}
}

// pair returns the state of pair k, creating it when force is set or the
// pair was seen before: most pairs of a network carry one connection, and
// the pair detectors (beacons, strobes, uploads of many small flows) need
// many, so a first connection only sets a bit (secondSighting) and
// allocates nothing. It returns nil for a first sighting.
func (e *Engine) pair(k pairKey, force bool) (*pairState, bool) {
	if p, ok := e.pairs.touch(k, e.now); ok {
		return p, false
	}
	if !force && !e.secondSighting(fnv(fnv(uint64(k.Port)<<8|uint64(k.Proto), string(k.Src[:])), string(k.Dst[:]))) {
		return nil, false
	}
	return e.pairs.getNew(k, e.now)
}

// seedFirst counts, in a pair just created at its second connection, the
// first connection that only marked it.
func (p *pairState) seedFirst(now time.Time) {
	p.StrobeStart, p.StrobeConns = now, 1
}

func ircPort(p uint16) bool { return p >= 6660 && p <= 6669 || p == 6697 }

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func (e *Engine) scoreHTTP(ev *event.Event) {
	e.fingerprintFlags(ev)
	host := hostOnly(ev.Host)
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			e.checkName(host, "HTTP host")
		}
	}
	if host != "" {
		// A CONNECT through a proxy names its target in the URL.
		target := host
		if ev.Method == "CONNECT" && ev.URL != "" {
			target = hostOnly(ev.URL)
		}
		e.beaconName(ev, target, ev.ReqLen)
	}
	if e.feeds != nil && host != "" {
		e.feeds.MatchURL(host, ev.URL, func(m string, t intel.Tag) {
			e.flag("feed")
			e.add(t.Threat, m, "URL %s%s matches %s on feed %s", host, ev.URL, m, t.Source)
		})
	}
	if ev.DestIP.IsValid() {
		e.checkAddr(ev.DestIP, ev.DestPort, "destination")
	}
	e.probe(ev)
}

func (e *Engine) scoreTLS(ev *event.Event) {
	e.port = ev.DestPort
	defer func() { e.port = 0 }()
	sni := strings.ToLower(strings.TrimSuffix(ev.SNI, "."))
	if sni != "" {
		e.checkName(sni, "SNI")
		e.beaconName(ev, sni, 0)
		if torSNI(sni) && !e.wasLookedUp(sni) {
			e.add(ThreatTor, sni, "SNI %s is a random name never looked up, as Tor clients send", sni)
		}
	}
	if e.feeds != nil {
		for _, h := range [...]string{ev.JA3, ev.JA3S} {
			if h != "" {
				e.feeds.MatchJA3(h, func(m string, t intel.Tag) {
					e.flag("feed")
					e.add(t.Threat, m, "TLS fingerprint JA3 %s is on feed %s", m, t.Source)
				})
			}
		}
		if ev.JA4 != "" {
			e.feeds.MatchJA4(ev.JA4, func(m string, t intel.Tag) {
				e.flag("feed")
				e.add(t.Threat, m, "TLS fingerprint JA4 %s is on feed %s", m, t.Source)
			})
		}
	}
	if sni == "" {
		e.direct(ev)
	}
	e.fingerprintFlags(ev)
	e.probe(ev)
	if ev.DestIP.IsValid() {
		e.checkAddr(ev.DestIP, ev.DestPort, "destination")
		if ev.DestPort == 853 && e.isExternal(ev.DestIP) {
			e.add(ThreatDoT, ev.DestIP.String(), "DNS over TLS (tcp/853) to %s, SNI %q", ev.DestIP, sni)
		}
	}
}

func hostOnly(h string) string {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		return h[:i]
	}
	return h
}

// Words in host names that mean mining: a strong one alone, or a pool word
// with a coin.
var (
	miningStrong = map[string]bool{"xmr": true, "monero": true, "stratum": true, "cryptonight": true, "nicehash": true,
		"xmrig": true, "randomx": true, "ethash": true, "minexmr": true, "moneroocean": true, "xmrpool": true}
	miningPool = map[string]bool{"pool": true, "mining": true, "miner": true, "mine": true, "pools": true, "solo": true}
	miningCoin = map[string]bool{"eth": true, "etc": true, "btc": true, "ltc": true, "zec": true, "rvn": true, "erg": true,
		"kas": true, "xmr": true, "dash": true, "doge": true, "bch": true, "zen": true, "flux": true, "beam": true, "grin": true, "ravencoin": true}
)

func nameWords(q string) []string {
	return strings.FieldsFunc(q, func(r rune) bool { return r == '.' || r == '-' || r == '_' || (r >= '0' && r <= '9') })
}

// miningName reports whether q carries a strong mining word, or a pool
// word (weak: pool.ntp.org) and, with a coin, a strong case.
func miningName(q string) (strong, weak bool) {
	if !strings.Contains(q, "xmr") && !strings.Contains(q, "pool") && !strings.Contains(q, "min") &&
		!strings.Contains(q, "strat") && !strings.Contains(q, "monero") && !strings.Contains(q, "hash") && !strings.Contains(q, "solo") {
		return false, false
	}
	pool, coin := false, false
	for _, w := range nameWords(q) {
		if miningStrong[w] {
			return true, true
		}
		pool = pool || miningPool[w]
		coin = coin || miningCoin[w]
	}
	return pool && coin, pool
}

func strongMiningWord(q string) string {
	for _, w := range nameWords(q) {
		if miningStrong[w] {
			return "the word " + w
		}
	}
	return "a pool word with a coin"
}

// torSNI matches the names Tor clients put in their TLS hellos:
// www.<random base32>.com or .net.
func torSNI(sni string) bool {
	if !strings.HasPrefix(sni, "www.") || !(strings.HasSuffix(sni, ".com") || strings.HasSuffix(sni, ".net")) {
		return false
	}
	l := sni[4 : len(sni)-4]
	if len(l) < 8 || len(l) > 26 {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	s, st := dgaScore(l)
	return st.DigitIn && s >= 0.5 || s >= 0.8
}

// lookedUp remembers that some host looked q up.
func (e *Engine) lookedUp(q string) {
	if len(e.looked) >= maxNameCache {
		clear(e.looked)
	}
	e.looked[e.hash(q)] = struct{}{}
}

func (e *Engine) wasLookedUp(q string) bool {
	_, ok := e.looked[e.hash(q)]
	return ok
}

// allowedInfra reports whether name belongs to the built-in update,
// telemetry, CDN and DNSBL infrastructure (lists/infra-allow.txt).
func (e *Engine) allowedInfra(name string) bool {
	_, ok := e.builtin.HasDomain(name, "allow_infra")
	return ok
}

// firstSeen flags a registered domain no monitored host looked up before,
// once the engine has an hour of history to compare with (the set is kept
// in the state file and capped at MaxDomains, oldest out).
func (e *Engine) firstSeen(reg string) {
	if _, created := e.seen.getNew(e.hash(reg), e.now); created && !e.since.IsZero() && e.now.Sub(e.since) >= time.Hour {
		e.flag("first_seen")
	}
}

// addFeedMatches adds the feed matches in e.ms for subject (a name or an
// address, what it is in the event) and returns how many there were.
func (e *Engine) addFeedMatches(what string, subject any) int {
	for _, m := range e.ms {
		e.flag("feed")
		e.add(m.Threat, m.Indicator, "%s %v matches %s on feed %s", what, subject, m.Indicator, m.Source)
	}
	return len(e.ms)
}
