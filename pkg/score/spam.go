package score

import (
	"net/netip"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// Spam bots: SMTP to many external mail servers from one monitored host.
//
// spam counts the external SMTP servers a host tries. Attempts count too
// (ISPs often block tcp/25), but then the host must also have looked up
// mail exchangers, which scanners probing port 25 do not.
type spam struct {
	th      Thresholds
	sources *table[netip.Addr, spamWindow]
}

type spamWindow struct {
	Start time.Time
	Spam  []netip.Addr // external SMTP servers tried
	Done  int          // of them, with a completed session
	MX    int          // MX lookups
}

func newSpam(th Thresholds, max int) *spam {
	return &spam{th: th, sources: newTable[netip.Addr, spamWindow](max)}
}

func (*spam) name() string           { return "spam" }
func (*spam) on() kinds              { return onDNS | onIP }
func (*spam) threats() []string      { return []string{ThreatSpam} }
func (d *spam) tables() []stateTable { return []stateTable{d.sources} }
func (d *spam) held(st *Stats)       { st.Sources += d.sources.len() }

func (d *spam) sweep(now time.Time, long bool) { d.sources.expire(now.Add(-d.th.SpamWindow)) }

func (d *spam) window(src netip.Addr, now time.Time) *spamWindow {
	s := d.sources.get(src, now)
	if roll(&s.Start, now, d.th.SpamWindow) {
		s.Spam, s.Done, s.MX = s.Spam[:0], 0, 0
	}
	return s
}

func (d *spam) observe(o *observation, f *findings) {
	ev := o.ev
	if ev.Type != event.TypeIP {
		// MX lookups, for the attempts below.
		if ev.QType == "MX" && o.srcInternal {
			d.window(ev.SrcIP, o.now).MX++
		}
		return
	}
	if o.proto != 6 || ev.DestPort != 25 || !o.dstExternal || !o.srcInternal {
		return
	}
	s := d.window(ev.SrcIP, o.now)
	for _, a := range s.Spam {
		if a == ev.DestIP {
			return
		}
	}
	if len(s.Spam) < 256 {
		s.Spam = append(s.Spam, ev.DestIP)
		if !o.failed {
			s.Done++
		}
	}
	n := len(s.Spam)
	switch {
	case s.Done >= d.th.SpamServers:
		f.add(ThreatSpam, "", "%s completed SMTP sessions (tcp/25) with %d external servers in %s", ev.SrcIP, s.Done, dur(d.th.SpamWindow))
	case n >= d.th.SpamServers && s.MX >= 3:
		f.add(ThreatSpam, "", "%s tried SMTP (tcp/25) to %d external servers after %d MX lookups in %s", ev.SrcIP, n, s.MX, dur(d.th.SpamWindow))
	}
}
