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

// secondSighting reports whether the pair with hash h was seen before. Most
// (source, name) pairs of a network are seen once, and a beacon needs ten
// connections: a pair gets a table entry from its second connection on,
// its first only sets a bit in a fixed 512 KiB bitset (cleared when half
// full; not saved with --state, so a restart costs a name beacon one more
// connection). Nothing is allocated for the single sightings.
func (e *Engine) secondSighting(h uint64) bool {
	if e.sighted == nil {
		e.sighted = make([]uint64, sightedWords)
	}
	i, bit := (h>>6)%sightedWords, uint64(1)<<(h&63)
	if e.sighted[i]&bit != 0 {
		return true
	}
	e.sighted[i] |= bit
	if e.sightedN++; e.sightedN > sightedWords*64/2 {
		clear(e.sighted)
		e.sightedN = 0
	}
	return false
}

const sightedWords = 1 << 16

// beaconIP records a TCP or UDP connection to an external address; its
// state lives with the pair's, p.
func (e *Engine) beaconIP(ev *event.Event, p *pairState, proto uint8) {
	if beaconSkipPorts[ev.DestPort] {
		return
	}
	if p.Beacon.Allowed {
		return
	}
	k := beaconKey{Src: ev.SrcIP.As16(), Dst: ev.DestIP.As16(), Port: ev.DestPort, Proto: proto}
	e.beaconAdd(ev, k, &p.Beacon, "", ev.BytesOut)
}

// beaconName records a call to a name (SNI, HTTP host, CONNECT target).
func (e *Engine) beaconName(ev *event.Event, name string, size int64) {
	if name == "" || !e.isInternal(ev.SrcIP) {
		return
	}
	// A name served inside (an agent posting to its collector) is not a
	// way out; through a proxy it is.
	if !e.isExternal(ev.DestIP) && ev.Method != "CONNECT" && !proxyPorts[ev.DestPort] {
		return
	}
	if c := name[len(name)-1]; c >= '0' && c <= '9' || c == ']' || strings.IndexByte(name, ':') >= 0 {
		if _, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
			return // an address as a host name: the ip events cover it
		}
	}
	k := beaconKey{Src: ev.SrcIP.As16(), Name: e.hash(name)}
	if !e.secondSighting(fnv(k.Name, string(k.Src[:]))) {
		return
	}
	p, created := e.beacons.getNew(nameKey{Src: k.Src, Name: k.Name}, e.now)
	if created {
		p.Allowed = e.allowedInfra(name)
	}
	if p.Allowed {
		// The address this connection went to serves allowlisted
		// infrastructure too: its pair is not scored either.
		if ip, ok := e.pairs.peek(pairKey{Src: k.Src, Dst: ev.DestIP.As16(), Port: ev.DestPort, Proto: 6}); ok {
			ip.Beacon.Allowed = true
		}
		return
	}
	e.beaconAdd(ev, k, p, name, size)
}

func (e *Engine) beaconAdd(ev *event.Event, k beaconKey, p *beaconState, name string, size int64) {
	ts := ev.TS.UnixMilli()
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
		e.prevalence(beaconDst(k), k.Src)
	}
	p.Name = name
	p.Sized = p.Sized || size > 0
	if p.N < e.th.BeaconMin || (p.Scored > 0 && ts-p.At < beaconRescore.Milliseconds()) {
		return
	}
	e.scoreBeacon(k, p, ts, func(id, subject, reason string) { e.add(id, subject, "%s", reason) })
}

// scoreBeacon scores pair k and calls found when it beacons.
func (e *Engine) scoreBeacon(k beaconKey, p *beaconState, now int64, found func(id, subject, reason string)) {
	times := append(e.times[:0], p.TS...)
	e.times = times
	slices.Sort(times)
	span := time.Duration(times[len(times)-1]-times[0]) * time.Millisecond
	if span < e.th.BeaconMinSpan {
		return
	}
	p.Scored, p.At = p.N, now
	deltas := e.deltas[:0]
	for i := 1; i < len(times); i++ {
		deltas = append(deltas, float64(times[i]-times[i-1]))
	}
	e.deltas = deltas
	slices.Sort(deltas)
	med := quantile(deltas, 0.5)
	if time.Duration(med)*time.Millisecond < e.th.BeaconInterval {
		return
	}
	tsScore := e.regularity(deltas)
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
		sizes := e.sizes[:0]
		for _, s := range p.Sizes {
			sizes = append(sizes, float64(s))
		}
		e.sizes = sizes
		slices.Sort(sizes)
		dsScore = e.regularity(sizes)
		score = 0.5*tsScore + 0.3*persist + 0.2*dsScore
	}
	if score < e.th.BeaconScore {
		return
	}
	if p.Name == "" {
		// An address DNS gave for allowlisted infrastructure.
		if ans, ok := e.answers.peek(k.Dst); ok && ans.Infra {
			p.Allowed = true
			return
		}
	}
	if e.prevalent(beaconDst(k)) {
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
func (e *Engine) prevalence(dst, src [16]byte) {
	if !e.isInternal(netip.AddrFrom16(src).Unmap()) {
		return
	}
	h := fnv(fnvOffset, string(src[:]))
	*e.callers.get(dst, e.now) |= 1 << (h % maxPrevalence)
	*e.callerSet.get(h, e.now) = struct{}{}
}

// prevalent reports whether most monitored hosts seen call dst.
func (e *Engine) prevalent(dst [16]byte) bool {
	s, ok := e.callers.peek(dst)
	if !ok {
		return false
	}
	n := bits.OnesCount64(*s)
	return n >= prevalentHosts && 2*n >= min(e.callerSet.len(), maxPrevalence)
}

// flushBeacons scores the pairs with connections since their last scoring,
// at the end of the input.
func (e *Engine) flushBeacons(emit func(*event.Event)) {
	for k, s := range e.beacons.m {
		e.flushBeacon(beaconKey{Src: k.Src, Name: k.Name}, &s.v, emit)
	}
	for k, s := range e.pairs.m {
		if k.Proto == 6 || k.Proto == 17 {
			e.flushBeacon(beaconKey{Src: k.Src, Dst: k.Dst, Port: k.Port, Proto: k.Proto}, &s.v.Beacon, emit)
		}
	}
}

func (e *Engine) flushBeacon(k beaconKey, p *beaconState, emit func(*event.Event)) {
	if p.N < e.th.BeaconMin || p.N == p.Scored {
		return
	}
	e.hits, e.flags = e.hits[:0], e.flags[:0]
	e.scoreBeacon(k, p, e.now.UnixMilli(), func(id, subject, reason string) { e.add(id, subject, "%s", reason) })
	if len(e.hits) == 0 {
		return
	}
	ev := &event.Event{Type: event.TypeIP, TS: time.UnixMilli(slices.Max(p.TS)).UTC(), SrcIP: netip.AddrFrom16(k.Src).Unmap()}
	if p.Name == "" {
		ev.DestIP, ev.DestPort, ev.Proto = netip.AddrFrom16(k.Dst).Unmap(), k.Port, protoName(k.Proto)
	} else if strings.Contains(p.Name, ".") {
		ev.Type, ev.Host = event.TypeHTTP, p.Name
	}
	e.raise(ev, emit)
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
func (e *Engine) regularity(v []float64) float64 {
	q1, q2, q3 := quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75)
	skew := 0.0
	if q3 != q1 && q2 != q1 && q2 != q3 {
		skew = (q3 + q1 - 2*q2) / (q3 - q1)
		if q2 > 0 {
			skew *= min(1, (q3-q1)/q2/0.25)
		}
	}
	dev := e.dev[:0]
	for _, x := range v {
		dev = append(dev, math.Abs(x-q2))
	}
	e.dev = dev
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
