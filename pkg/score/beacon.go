package score

import (
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// Beaconing: a host that calls the same destination on a schedule. A
// destination is an external address, port and protocol (TCP or UDP, from
// ip events) or a name (TLS SNI, HTTP host, the target of a proxy
// CONNECT, so a beacon through a web proxy or rotating over a CDN's
// addresses is still one destination). Each pair keeps the times and sizes
// of its last beaconRing connections and is scored by time, not by count:
// when it reaches BeaconMin connections spanning BeaconMinSpan, then again
// every beaconRescore of event time, and at Flush.
//
// The score weighs timing and count over size, as RITA does:
//
//	0.5 x regularity of the intervals (1 - |Bowley skew| and 1 - MAD/median)
//	0.3 x persistence (share of ten equal slices of the span with a connection)
//	0.2 x regularity of the sizes (left out when the events carry none)
//
// A perfect schedule scores 1. Uniform 50 % jitter on the interval has a
// MAD of a quarter of the median and no skew: regularity about 0.81, a
// score about 0.87 (0.83 without sizes). Random (Poisson) visits have a
// MAD of 0.7 of the median and a Bowley skew of 0.26: regularity about
// 0.42, a score about 0.6 with sizes as random (0.65 without).
// BeaconScore (0.78) sits between the two.
// Variant space claimed: median interval from BeaconInterval (10 s) to
// 1 h (the ring spans 64 intervals, state lives 24 h), jitter up to 50 %,
// sizes varying by half, TCP or UDP, direct or through a proxy by name.
// Destinations most monitored hosts call more than once (prevalence) are
// not beacons.

const (
	beaconRing    = 64
	beaconRescore = 10 * time.Minute
	sameConn      = 2000 // ms: records of one pair this close are one connection
	// prevalentHosts: a destination called by this many monitored hosts,
	// and by half of those seen calling anything, is shared infrastructure.
	prevalentHosts = 4
	maxPrevalence  = 64
)

// proxyPorts are the usual ports of web proxies: a name reached through
// an internal address on one of them leaves the network.
var proxyPorts = map[uint16]bool{3128: true, 3129: true, 8080: true, 8118: true, 8888: true, 8000: true}

// nameKey is what the table of name beacons is keyed on: smaller than a
// beaconKey, so faster to hash.
type nameKey struct {
	Src  [16]byte
	Name uint64
}

type beaconKey struct {
	Src, Dst [16]byte
	Port     uint16
	Proto    uint8  // 6 tcp, 17 udp, 0 for a name
	Name     uint64 // hash of the name; 0 for an address
}

// beaconState is a pair's record of connections: the beacon detector's
// part of an address pair's state (pairs.go), or an entry of its own table
// of names.
type beaconState struct {
	TS      []int64 // Unix ms, a ring
	Sizes   []int64
	N       int
	Scored  int   // N when last scored
	At      int64 // Unix ms of the last scoring
	Last    int64 // Unix ms of the latest connection
	Name    string
	Sized   bool // some event carried a size
	Allowed bool // the name, or a name of the address, is on the built-in infra-allow list
}

// beacons is the beacon detector: it watches names (beaconNames, on
// HTTP and TLS) and addresses (beaconAddrs, on ip) with one state and one
// scoring.
type beacons struct {
	th      Thresholds
	nets    networks
	look    *lookup
	pairs   *pairs   // address pairs keep their record in the pairs' state
	answers *answers // addresses DNS gave for allowlisted infrastructure
	names   *table[nameKey, beaconState]
	// Callers per destination and the monitored hosts seen calling out,
	// for prevalence.
	callers   *table[[16]byte, uint64]
	callerSet *table[uint64, struct{}]

	times              []int64
	deltas, sizes, dev []float64
}

func newBeacons(cfg Config, look *lookup, pairs *pairs, answers *answers) *beacons {
	return &beacons{th: cfg.Thresholds, nets: networks(cfg.Internal), look: look, pairs: pairs, answers: answers,
		names:     newTable[nameKey, beaconState](cfg.MaxPairs),
		callers:   newTable[[16]byte, uint64](cfg.MaxDomains),
		callerSet: newTable[uint64, struct{}](cfg.MaxSources)}
}

// beaconNames is the beacon detector on names, and the owner of its
// state.
type beaconNames struct{ *beacons }

func (beaconNames) name() string      { return "beacon" }
func (beaconNames) on() kinds         { return onHTTP | onTLS }
func (beaconNames) threats() []string { return []string{ThreatBeacon} }
func (b beaconNames) tables() []stateTable {
	return []stateTable{b.names, b.callers, b.callerSet}
}
func (b beaconNames) held(st *Stats) { st.Beacons += b.names.len() }

func (b beaconNames) sweep(now time.Time, long bool) {
	if long {
		b.names.expire(now.Add(-24 * time.Hour))
		b.callers.expire(now.Add(-24 * time.Hour))
		b.callerSet.expire(now.Add(-24 * time.Hour))
	}
}

func (b beaconNames) observe(o *observation, f *findings) {
	ev := o.ev
	switch ev.Type {
	case event.TypeHTTP:
		if o.host == "" {
			return
		}
		// A CONNECT through a proxy names its target in the URL.
		target := o.host
		if ev.Method == "CONNECT" && ev.URL != "" {
			target = hostOnly(ev.URL)
		}
		b.call(o, f, target, ev.ReqLen)
	case event.TypeTLS:
		b.call(o, f, o.name, 0)
	}
}

// call records a call to a name (SNI, HTTP host, CONNECT target).
func (b beaconNames) call(o *observation, f *findings, name string, size int64) {
	ev := o.ev
	if name == "" || !o.srcInternal {
		return
	}
	// A name served inside (an agent posting to its collector) is not a
	// way out; through a proxy it is.
	if !o.dstExternal && ev.Method != "CONNECT" && !proxyPorts[ev.DestPort] {
		return
	}
	if c := name[len(name)-1]; c >= '0' && c <= '9' || c == ']' || strings.IndexByte(name, ':') >= 0 {
		if _, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
			return // an address as a host name: the ip events cover it
		}
	}
	k := beaconKey{Src: ev.SrcIP.As16(), Name: hash(name)}
	if !b.pairs.second(fnv(k.Name, string(k.Src[:]))) {
		return
	}
	p, created := b.names.getNew(nameKey{Src: k.Src, Name: k.Name}, o.now)
	if created {
		p.Allowed = b.look.allowedInfra(name)
	}
	if p.Allowed {
		// The address this connection went to serves allowlisted
		// infrastructure too: its pair is not scored either.
		if ip, ok := b.pairs.t.peek(pairKey{Src: k.Src, Dst: ev.DestIP.As16(), Port: ev.DestPort, Proto: 6}); ok {
			ip.Beacon.Allowed = true
		}
		return
	}
	b.add(o, f, k, p, name, size)
}

// beaconAddrs is the beacon detector on TCP and UDP connections to
// external addresses; their record lives with the pair's state.
type beaconAddrs struct{ *beacons }

func (beaconAddrs) name() string      { return "beacon_addresses" }
func (beaconAddrs) on() kinds         { return onIP }
func (beaconAddrs) threats() []string { return []string{ThreatBeacon} }

func (b beaconAddrs) observe(o *observation, f *findings) {
	ev := o.ev
	if o.pair == nil || (o.proto == 6 && o.failed) || beaconSkipPorts[ev.DestPort] || o.pair.Beacon.Allowed {
		return
	}
	k := beaconKey{Src: ev.SrcIP.As16(), Dst: ev.DestIP.As16(), Port: ev.DestPort, Proto: o.proto}
	b.add(o, f, k, &o.pair.Beacon, "", ev.BytesOut)
}

// beaconSkipPorts are services that are periodic by design.
var beaconSkipPorts = map[uint16]bool{53: true, 123: true, 137: true, 138: true, 67: true, 68: true, 1900: true, 5353: true, 5355: true}

func (b *beacons) add(o *observation, f *findings, k beaconKey, p *beaconState, name string, size int64) {
	ts := o.ev.TS.UnixMilli()
	// One connection is often logged more than once (a proxy CONNECT in
	// http.log, its TLS in ssl.log, a flow and its TLS in eve.json).
	if p.N > 0 && ts-p.Last < sameConn && p.Last-ts < sameConn {
		return
	}
	p.Last = max(p.Last, ts)
	if len(p.TS) < beaconRing {
		p.TS = append(p.TS, ts)
		p.Sizes = append(p.Sizes, size)
	} else {
		p.TS[p.N%beaconRing] = ts
		p.Sizes[p.N%beaconRing] = size
	}
	p.N++
	if p.N == 2 {
		// Hosts calling a destination once never beacon to it.
		b.prevalence(beaconDst(k), k.Src, o.now)
	}
	p.Name = name
	p.Sized = p.Sized || size > 0
	if p.N < b.th.BeaconMin || (p.Scored > 0 && ts-p.At < beaconRescore.Milliseconds()) {
		return
	}
	b.score(k, p, ts, func(id, subject, reason string) { f.add(id, subject, "%s", reason) })
}

// scoreBeacon scores pair k and calls found when it beacons.
func (b *beacons) score(k beaconKey, p *beaconState, now int64, found func(id, subject, reason string)) {
	times := append(b.times[:0], p.TS...)
	b.times = times
	slices.Sort(times)
	span := time.Duration(times[len(times)-1]-times[0]) * time.Millisecond
	if span < b.th.BeaconMinSpan {
		return
	}
	p.Scored, p.At = p.N, now
	deltas := b.deltas[:0]
	for i := 1; i < len(times); i++ {
		deltas = append(deltas, float64(times[i]-times[i-1]))
	}
	b.deltas = deltas
	slices.Sort(deltas)
	med := quantile(deltas, 0.5)
	if time.Duration(med)*time.Millisecond < b.th.BeaconInterval {
		return
	}
	tsScore := b.regularity(deltas)
	var slices10 [10]bool
	for _, t := range times {
		i := int(float64(t-times[0]) / float64(times[len(times)-1]-times[0]+1) * 10)
		slices10[min(i, 9)] = true
	}
	persist := 0.0
	for _, b := range slices10 {
		if b {
			persist += 0.1
		}
	}
	score, dsScore := (0.5*tsScore+0.3*persist)/0.8, -1.0
	if p.Sized {
		sizes := b.sizes[:0]
		for _, s := range p.Sizes {
			sizes = append(sizes, float64(s))
		}
		b.sizes = sizes
		slices.Sort(sizes)
		dsScore = b.regularity(sizes)
		score = 0.5*tsScore + 0.3*persist + 0.2*dsScore
	}
	if score < b.th.BeaconScore {
		return
	}
	if p.Name == "" {
		// An address DNS gave for allowlisted infrastructure.
		if ans, ok := b.answers.t.peek(k.Dst); ok && ans.Infra {
			p.Allowed = true
			return
		}
	}
	if b.prevalent(beaconDst(k)) {
		return
	}
	subject := p.Name
	if subject == "" {
		subject = fmt.Sprintf("%s:%d/%s", netip.AddrFrom16(k.Dst).Unmap(), k.Port, protoName(k.Proto))
	}
	size := "no sizes"
	if dsScore >= 0 {
		size = fmt.Sprintf("size %.2f", dsScore)
	}
	found(ThreatBeacon, subject, fmt.Sprintf("%d connections from %s to %s over %s, every %s (median), beacon score %.2f (interval %.2f, persistence %.1f, %s)",
		p.N, netip.AddrFrom16(k.Src).Unmap(), subject, dur(span.Round(time.Minute)), dur(time.Duration(med)*time.Millisecond), score, tsScore, persist, size))
}

func protoName(p uint8) string {
	switch p {
	case 17:
		return "udp"
	case 6:
		return "tcp"
	}
	return fmt.Sprint(p)
}

// beaconDst is the destination of a pair for prevalence: its address, or
// its name's hash.
func beaconDst(k beaconKey) [16]byte {
	if k.Name == 0 {
		return k.Dst
	}
	var dst [16]byte
	for i := 0; i < 8; i++ {
		dst[i] = byte(k.Name >> (8 * i))
	}
	return dst
}

// prevalence records that src called dst (once per pair). The callers of
// a destination are a 64-bit linear-counting sketch: each host sets the
// bit its hash picks, and the set bits estimate the distinct hosts, closely
// up to a few dozen, which is all prevalence needs; it holds no pointers.
func (b *beacons) prevalence(dst, src [16]byte, now time.Time) {
	if !b.nets.internal(netip.AddrFrom16(src).Unmap()) {
		return
	}
	h := fnv(fnvOffset, string(src[:]))
	*b.callers.get(dst, now) |= 1 << (h % maxPrevalence)
	*b.callerSet.get(h, now) = struct{}{}
}

// prevalent reports whether most monitored hosts seen call dst.
func (b *beacons) prevalent(dst [16]byte) bool {
	s, ok := b.callers.peek(dst)
	if !ok {
		return false
	}
	n := bits.OnesCount64(*s)
	return n >= prevalentHosts && 2*n >= min(b.callerSet.len(), maxPrevalence)
}

// flush scores the pairs with connections since their last scoring, at
// the end of the input.
func (b beaconNames) flush(now time.Time, f *findings, raise func(*event.Event)) {
	for k, s := range b.names.m {
		b.flushOne(beaconKey{Src: k.Src, Name: k.Name}, &s.v, now, f, raise)
	}
	for k, s := range b.pairs.t.m {
		if k.Proto == 6 || k.Proto == 17 {
			b.flushOne(beaconKey{Src: k.Src, Dst: k.Dst, Port: k.Port, Proto: k.Proto}, &s.v.Beacon, now, f, raise)
		}
	}
}

func (b *beacons) flushOne(k beaconKey, p *beaconState, now time.Time, f *findings, raise func(*event.Event)) {
	if p.N < b.th.BeaconMin || p.N == p.Scored {
		return
	}
	f.reset()
	b.score(k, p, now.UnixMilli(), func(id, subject, reason string) { f.add(id, subject, "%s", reason) })
	if len(f.hits) == 0 {
		return
	}
	ev := &event.Event{Type: event.TypeIP, TS: time.UnixMilli(slices.Max(p.TS)).UTC(), SrcIP: netip.AddrFrom16(k.Src).Unmap()}
	if p.Name == "" {
		ev.DestIP, ev.DestPort, ev.Proto = netip.AddrFrom16(k.Dst).Unmap(), k.Port, protoName(k.Proto)
	} else if strings.Contains(p.Name, ".") {
		ev.Type, ev.Host = event.TypeHTTP, p.Name
	}
	raise(ev)
}

// regularity scores sorted values from 0 (irregular) to 1 (constant):
// 0.75 x (1 - MAD/median) + 0.25 x (1 - |Bowley skew|). RITA weighs the two
// alike; here the median absolute deviation leads, because it is what
// tells a schedule with jitter from random visits (a quarter of the median
// for 50 % uniform jitter, 0.7 of it for Poisson arrivals) and it is
// stable at tens of samples, where the skew is noisy. The skew of values
// that hardly spread (a schedule with 1 % jitter) is noise, not shape: it
// counts in proportion to the spread, fully from an interquartile range of
// a quarter of the median.
func (b *beacons) regularity(v []float64) float64 {
	q1, q2, q3 := quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75)
	skew := 0.0
	if q3 != q1 && q2 != q1 && q2 != q3 {
		skew = (q3 + q1 - 2*q2) / (q3 - q1)
		if q2 > 0 {
			skew *= min(1, (q3-q1)/q2/0.25)
		}
	}
	dev := b.dev[:0]
	for _, x := range v {
		dev = append(dev, math.Abs(x-q2))
	}
	b.dev = dev
	slices.Sort(dev)
	mad := quantile(dev, 0.5)
	madScore := 1.0
	if q2 > 0 {
		madScore = math.Max(0, 1-mad/q2)
	} else if mad > 0 {
		madScore = 0
	}
	return 0.25*(1-math.Abs(skew)) + 0.75*madScore
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[i]
	}
	f := pos - float64(i)
	return sorted[i]*(1-f) + sorted[i+1]*f
}
