package score

import (
	"github.com/nfr-project/nfr/pkg/event"
)

// Spam bots: SMTP to many external mail servers from one monitored host.
//
// spam counts the external SMTP servers a host tries. Attempts count too
// (ISPs often block tcp/25), but then the host must also have looked up
// mail exchangers, which scanners probing port 25 do not.
func (e *Engine) spam(ev *event.Event, done bool) {
	s := e.sources.get(ev.SrcIP, e.now)
	if roll(&s.SpamStart, e.now, e.th.SpamWindow) {
		s.Spam, s.SpamDone, s.MX = s.Spam[:0], 0, 0
	}
	for _, a := range s.Spam {
		if a == ev.DestIP {
			return
		}
	}
	if len(s.Spam) < 256 {
		s.Spam = append(s.Spam, ev.DestIP)
		if done {
			s.SpamDone++
		}
	}
	n := len(s.Spam)
	switch {
	case s.SpamDone >= e.th.SpamServers:
		e.add(ThreatSpam, "", "%s completed SMTP sessions (tcp/25) with %d external servers in %s", ev.SrcIP, s.SpamDone, dur(e.th.SpamWindow))
	case n >= e.th.SpamServers && s.MX >= 3:
		e.add(ThreatSpam, "", "%s tried SMTP (tcp/25) to %d external servers after %d MX lookups in %s", ev.SrcIP, n, s.MX, dur(e.th.SpamWindow))
	}
}

// mxLookup counts a host's MX lookups for the spam detector.
func (e *Engine) mxLookup(ev *event.Event) {
	s := e.sources.get(ev.SrcIP, e.now)
	if roll(&s.SpamStart, e.now, e.th.SpamWindow) {
		s.Spam, s.SpamDone, s.MX = s.Spam[:0], 0, 0
	}
	s.MX++
}
