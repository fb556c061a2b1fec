package score

import (
	"math/bits"
	"time"
)

// Rare fingerprints: a TLS client (JA4, else JA3) or HTTP user agent that
// this network has not seen before, or that only one monitored host uses,
// is the weak sign of a tool the site does not run. It is a flag
// (rare_ja4, rare_user_agent) on the alerts the event raises, never an
// alert alone, and only once the engine has an hour of history, so a
// fresh start does not call everything rare. Each fingerprint keeps a
// 64-bit sketch of the hosts using it and when it was first seen (a week).
type fingerprints struct {
	prints *table[uint64, fingerprint]
}

type fingerprint struct {
	Hosts uint64 // linear-counting sketch of the monitored hosts using it
	First time.Time
}

func newFingerprints(max int) *fingerprints {
	return &fingerprints{prints: newTable[uint64, fingerprint](max)}
}

func (*fingerprints) name() string           { return "fingerprints" }
func (*fingerprints) on() kinds              { return onHTTP | onTLS }
func (*fingerprints) threats() []string      { return nil }
func (d *fingerprints) tables() []stateTable { return []stateTable{d.prints} }

func (d *fingerprints) sweep(now time.Time, long bool) {
	if long {
		d.prints.expire(now.Add(-7 * 24 * time.Hour))
	}
}

func (d *fingerprints) observe(o *observation, f *findings) {
	ev := o.ev
	if !o.srcInternal {
		return
	}
	switch {
	case ev.JA4 != "":
		d.rare(o, f, "ja4:", ev.JA4, "rare_ja4")
	case ev.JA3 != "":
		d.rare(o, f, "ja3:", ev.JA3, "rare_ja4")
	}
	if ev.UserAgent != "" {
		d.rare(o, f, "ua:", ev.UserAgent, "rare_user_agent")
	}
}

// rare flags the fingerprint kind+value; its key is the hash of the two
// as one string, without making the string.
func (d *fingerprints) rare(o *observation, f *findings, kind, value, flag string) {
	p, created := d.prints.getNew(fnv(hash(kind), value), o.now)
	if created {
		p.First = o.now
	}
	b := o.ev.SrcIP.As16()
	p.Hosts |= 1 << (fnv(fnvOffset, string(b[:])) % 64)
	if o.history < time.Hour {
		return
	}
	if o.now.Sub(p.First) < time.Hour || bits.OnesCount64(p.Hosts) <= 1 {
		f.flag(flag)
	}
}
