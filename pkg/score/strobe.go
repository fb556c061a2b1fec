package score

import (
	"fmt"

	"github.com/nfr-project/nfr/pkg/event"
)

// Strobes: one source hammering one external address and port. RITA calls
// a pair with a day's worth of connections a strobe; a malware client
// whose C2 is down or blocked shows the same as a run of refused or
// unanswered attempts (CTU's Remcos capture: 718 REJ in 8 minutes). Counts
// are per pair in a window of StrobeWindow (1 h): StrobeFailed refused or
// unanswered attempts, or StrobeConns connections of any kind (one a
// second). Variant space claimed: any pace that reaches the counts within
// the window, TCP or UDP, any port; a slower client retrying a dead
// server (one try a minute) stays below it, as a broken application does.

// strobe counts a connection of ev's pair p (nil: looked up here).
func (e *Engine) strobe(ev *event.Event, p *pairState, proto uint8, failedTry bool) {
	if !e.isInternal(ev.SrcIP) || !e.isExternal(ev.DestIP) {
		return
	}
	if p == nil {
		var created bool
		if p, created = e.pair(pairKey{Src: ev.SrcIP.As16(), Dst: ev.DestIP.As16(), Port: ev.DestPort, Proto: proto}, false); p == nil {
			return
		}
		if created {
			// The pair's first attempt only marked it; count it as
			// this one.
			p.seedFirst(e.now)
			if failedTry {
				p.StrobeFailed = 1
			}
		}
	}
	if roll(&p.StrobeStart, e.now, e.th.StrobeWindow) {
		p.StrobeConns, p.StrobeFailed = 0, 0
	}
	p.StrobeConns++
	if failedTry {
		p.StrobeFailed++
	}
	if p.StrobeFailed < e.th.StrobeFailed && p.StrobeConns < e.th.StrobeConns {
		return
	}
	subject := fmt.Sprintf("%s:%d/%s", ev.DestIP, ev.DestPort, protoName(proto))
	if p.StrobeFailed >= e.th.StrobeFailed {
		e.add(ThreatStrobe, subject, "%d refused or unanswered connection attempts from %s to %s in %s (a client whose server is down or blocked)",
			p.StrobeFailed, ev.SrcIP, subject, since(e.now, p.StrobeStart))
		return
	}
	e.add(ThreatStrobe, subject, "%d connections from %s to %s in %s", p.StrobeConns, ev.SrcIP, subject, since(e.now, p.StrobeStart))
}
