package score

import (
	"math/bits"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// Rare fingerprints: a TLS client (JA4, else JA3) or HTTP user agent that
// this network has not seen before, or that only one monitored host uses,
// is the weak sign of a tool the site does not run. It is a flag
// (rare_ja4, rare_user_agent) on the alerts the event raises, never an
// alert alone, and only once the engine has an hour of history, so a
// fresh start does not call everything rare. Each fingerprint keeps a
// 64-bit sketch of the hosts using it and when it was first seen.

type fingerprint struct {
	Hosts uint64 // linear-counting sketch of the monitored hosts using it
	First time.Time
}

func (e *Engine) fingerprintFlags(ev *event.Event) {
	if !e.isInternal(ev.SrcIP) {
		return
	}
	switch {
	case ev.JA4 != "":
		e.rare("ja4:"+ev.JA4, ev, "rare_ja4")
	case ev.JA3 != "":
		e.rare("ja3:"+ev.JA3, ev, "rare_ja4")
	}
	if ev.UserAgent != "" {
		e.rare("ua:"+ev.UserAgent, ev, "rare_user_agent")
	}
}

func (e *Engine) rare(key string, ev *event.Event, flag string) {
	f, created := e.prints.getNew(e.hash(key), e.now)
	if created {
		f.First = e.now
	}
	b := ev.SrcIP.As16()
	f.Hosts |= 1 << (fnv(fnvOffset, string(b[:])) % 64)
	if e.since.IsZero() || e.now.Sub(e.since) < time.Hour {
		return
	}
	if e.now.Sub(f.First) < time.Hour || bits.OnesCount64(f.Hosts) <= 1 {
		e.flag(flag)
	}
}
