package score

import (
	"encoding/gob"
	"fmt"
	"strings"
	"time"
)

// DNS tunnelling: many long, high-entropy names under one registered
// domain from one source, or TXT/NULL-heavy lookups of unique names. Two
// sliding windows per source and domain: LongWindow (1 h, twelve
// buckets) for tunnels that move data, and Horizon (24 h, twenty-four
// buckets) for the slow ones that trickle it: TunnelNamesDay unique names
// with the same mean length and entropy. A name counts once per window
// for as long as it is seen within it. Names on the built-in tunnel-allow
// and infra-allow lists are skipped.
//
// Pace: a tool moving files makes a name a second or faster (tunnel_names
// in seconds); a beacon-style implant that polls and trickles makes one
// every few minutes, 12 to 30 an hour, hours on end: 144 to 360 over 12
// hours. A host's own lookups under one domain with long random labels
// (telemetry, CDN and anti-virus hashes) are what the allow lists are for;
// the length and entropy conditions keep the rest (short words, numbers)
// out. TunnelNamesDay (100) is a name every quarter of an hour for a day
// or every seven minutes for half of it.
type tunnel struct {
	th      Thresholds
	look    *lookup
	domains *table[tunnelKey, tunnelState]
	// firsts holds the first long name of a source under a domain,
	// direct-mapped by the hash of the two (a collision loses one): most
	// sources look up one name under a domain (www.site123.example.com),
	// and they cost no table entry. Saved with --state (the entries in
	// use), so a restart does not forget a tunnel's first name.
	firsts firstCache
}

type firstCache []firstName

// firstSlot is an entry of a firstCache in use, as --state keeps it.
type firstSlot struct {
	I int
	F firstName
}

func (c *firstCache) save(enc *gob.Encoder) error {
	var used []firstSlot
	for i, f := range *c {
		if f != (firstName{}) {
			used = append(used, firstSlot{i, f})
		}
	}
	return enc.Encode(used)
}

func (c *firstCache) restore(dec *gob.Decoder) error {
	var used []firstSlot
	if err := dec.Decode(&used); err != nil {
		return err
	}
	clear(*c)
	for _, u := range used {
		if u.I < 0 || u.I >= len(*c) {
			return fmt.Errorf("first name %d of a cache of %d", u.I, len(*c))
		}
		(*c)[u.I] = u.F
	}
	return nil
}

func (c *firstCache) evictions() int64 { return 0 }

type firstName struct {
	Key, Name uint64
	T         int64 // Unix ms
	Len, Ent  float32
}

const firstNames = 1 << 16

type tunnelKey struct {
	Src [16]byte
	Reg string
}

// tunnelState is what the detector keeps of one source's lookups under
// one registered domain, from its second long name (or first TXT lookup)
// on. The first long name waits in the tunnel's firsts cache; the state
// is made for the second, which brings the first in with it.
type tunnelState struct {
	First, DayFirst int64 // Unix ms of the first name since the window was last empty
	Hour            slide[nameCounts]
	Day             slide[nameCounts]
	Names           map[uint64]nameSeen // distinct long names, at most maxNames
}

type nameCounts struct {
	Names, TXT uint32
	Len, Ent   float32 // sums over the names
}

// nameSeen says when a name was last counted in each window (Unix
// seconds).
type nameSeen struct{ Hour, Day int64 }

const maxNames = 1024

func newTunnel(th Thresholds, look *lookup, max int) *tunnel {
	return &tunnel{th: th, look: look, domains: newTable[tunnelKey, tunnelState](max), firsts: make(firstCache, firstNames)}
}

func (*tunnel) name() string           { return "dns_tunnel" }
func (*tunnel) on() kinds              { return onDNS }
func (*tunnel) threats() []string      { return []string{ThreatDNSTunnel} }
func (d *tunnel) tables() []stateTable { return []stateTable{d.domains, &d.firsts} }
func (d *tunnel) held(st *Stats)       { st.Domains += d.domains.len() }

func (d *tunnel) sweep(now time.Time, long bool) {
	if long {
		d.domains.expire(now.Add(-d.th.Horizon))
	}
}

func (d *tunnel) observe(o *observation, f *findings) {
	ev, q, reg, now := o.ev, o.name, o.reg, o.now
	if !o.regOK || ev.QType == "PTR" {
		return
	}
	txt := ev.QType == "TXT" || ev.QType == "NULL"
	sub := ""
	if len(q) > len(reg)+1 {
		sub = q[:len(q)-len(reg)-1]
	}
	// Short names are what every site looks up; only long names and
	// TXT/NULL lookups are worth remembering.
	if len(sub) < 8 && !txt {
		return
	}
	if _, ok := d.look.builtin.HasDomain(reg, "allow_tunnel"); ok || d.look.allowedInfra(q) {
		return
	}
	hw, dw := d.th.LongWindow/shortBuckets, d.th.Horizon/longBuckets
	k := tunnelKey{Src: ev.SrcIP.As16(), Reg: reg}
	h, t := uint64(0), now.Unix()
	if len(sub) >= 8 {
		h = hash(q)
	}
	var one firstName
	s, ok := d.domains.touch(k, now)
	if !ok {
		fk := fnv(hash(reg), string(k.Src[:]))
		first := &d.firsts[fk%firstNames]
		if !txt && first.Key == fk && first.Name == h {
			first.T = now.UnixMilli()
			return
		}
		if !txt && first.Key != fk {
			l, e := nameShape(sub)
			*first = firstName{Key: fk, Name: h, T: now.UnixMilli(), Len: l, Ent: e}
			return
		}
		if first.Key == fk {
			one, *first = *first, firstName{}
		}
		s = d.domains.get(k, now)
	}
	d.grow(s, now, one)
	if !s.Hour.live(now, hw, shortBuckets) {
		s.First = now.UnixMilli()
	}
	if !s.Day.live(now, dw, longBuckets) {
		s.DayFirst = now.UnixMilli()
	}
	hour, day := s.Hour.at(now, hw, shortBuckets), s.Day.at(now, dw, longBuckets)
	if hour == nil || day == nil {
		return // older than the windows
	}
	if txt {
		hour.TXT++
	}
	if len(sub) < 8 {
		return
	}
	seen, known := s.Names[h]
	if !known && len(s.Names) >= maxNames {
		d.forget(s, t)
		if len(s.Names) >= maxNames {
			return
		}
	}
	newHour := !known || t-seen.Hour >= int64(d.th.LongWindow/time.Second)
	newDay := !known || t-seen.Day >= int64(d.th.Horizon/time.Second)
	if !newHour && !newDay {
		return
	}
	l, e := nameShape(sub)
	if newHour {
		hour.Names++
		hour.Len += l
		hour.Ent += e
		seen.Hour = t
	}
	if newDay {
		day.Names++
		day.Len += l
		day.Ent += e
		seen.Day = t
	}
	s.Names[h] = seen
	if newHour {
		var c nameCounts
		s.Hour.each(now, hw, shortBuckets, c.add)
		u := int(c.Names)
		meanLen, meanEnt := float64(c.Len)/float64(u), float64(c.Ent)/float64(u)
		in := windowSince(now, time.UnixMilli(s.First), d.th.LongWindow)
		switch {
		case u >= d.th.TunnelNames && meanLen >= d.th.TunnelLen && meanEnt >= d.th.TunnelEntropy:
			f.add(ThreatDNSTunnel, reg, "%d unique subdomains of %s in %s, mean length %.0f, mean label entropy %.1f",
				u, reg, in, meanLen, meanEnt)
			return
		case int(c.TXT) >= d.th.TunnelNames && u >= d.th.TunnelNames/2 && meanEnt >= d.th.TunnelEntropy-0.5:
			f.add(ThreatDNSTunnel, reg, "%d TXT/NULL lookups under %s in %s, %d of them unique names with mean entropy %.1f",
				c.TXT, reg, in, u, meanEnt)
			return
		case u >= 50*d.th.TunnelNames && meanEnt >= d.th.TunnelEntropy-0.5:
			f.add(ThreatDNSTunnel, reg, "unusual volume: %d unique subdomains of %s in %s", u, reg, in)
			return
		}
	}
	if newDay {
		var c nameCounts
		s.Day.each(now, dw, longBuckets, c.add)
		u := int(c.Names)
		meanLen, meanEnt := float64(c.Len)/float64(u), float64(c.Ent)/float64(u)
		if u >= d.th.TunnelNamesDay && meanLen >= d.th.TunnelLen && meanEnt >= d.th.TunnelEntropy {
			f.add(ThreatDNSTunnel, reg, "%d unique subdomains of %s in %s, a slow tunnel: mean length %.0f, mean label entropy %.1f",
				u, reg, windowSince(now, time.UnixMilli(s.DayFirst), d.th.Horizon), meanLen, meanEnt)
		}
	}
}

// grow makes the map and the windows of s if it has none, with one, the first
// long name out of the firsts cache (zero when there is none), counted
// at its time.
func (d *tunnel) grow(s *tunnelState, now time.Time, one firstName) {
	if s.Names != nil {
		return
	}
	s.Names = map[uint64]nameSeen{}
	if one.Name == 0 {
		return
	}
	at := time.UnixMilli(one.T)
	var seen nameSeen
	if now.Sub(at) < d.th.LongWindow {
		if b := s.Hour.at(at, d.th.LongWindow/shortBuckets, shortBuckets); b != nil {
			b.Names, b.Len, b.Ent = b.Names+1, b.Len+one.Len, b.Ent+one.Ent
			seen.Hour, s.First = at.Unix(), one.T
		}
	}
	if now.Sub(at) < d.th.Horizon {
		if b := s.Day.at(at, d.th.Horizon/longBuckets, longBuckets); b != nil {
			b.Names, b.Len, b.Ent = b.Names+1, b.Len+one.Len, b.Ent+one.Ent
			seen.Day, s.DayFirst = at.Unix(), one.T
		}
	}
	s.Names[one.Name] = seen
}

// nameShape is the length and Shannon entropy of a name's letters below
// its registered domain, dots left out.
func nameShape(sub string) (l, e float32) {
	letters := strings.ReplaceAll(sub, ".", "")
	return float32(len(letters)), float32(shannon(letters))
}

func (c *nameCounts) add(b *nameCounts) {
	c.Names += b.Names
	c.TXT += b.TXT
	c.Len += b.Len
	c.Ent += b.Ent
}

// forget drops the names out of both windows, and when that is not
// enough the names out of the hour, so a busy tunnel is still counted by
// the hour (a name dropped and seen again counts twice in the day).
func (d *tunnel) forget(s *tunnelState, t int64) {
	day, hour := int64(d.th.Horizon/time.Second), int64(d.th.LongWindow/time.Second)
	for k, v := range s.Names {
		if t-v.Day >= day {
			delete(s.Names, k)
		}
	}
	if len(s.Names) < maxNames {
		return
	}
	for k, v := range s.Names {
		if t-v.Hour >= hour {
			delete(s.Names, k)
		}
	}
}
