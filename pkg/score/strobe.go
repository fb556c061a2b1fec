package score

import (
	"fmt"
	"time"
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
type strobes struct{ th Thresholds }

// strobePair is the strobe detector's part of a pair's state (pairs.go).
type strobePair struct {
	Start         time.Time
	Conns, Failed int
}

func (strobes) name() string      { return "strobe" }
func (strobes) on() kinds         { return onIP }
func (strobes) threats() []string { return []string{ThreatStrobe} }

func (d strobes) observe(o *observation, f *findings) {
	ev := o.ev
	if o.pair == nil || !o.srcInternal || !o.dstExternal {
		return
	}
	p := &o.pair.Strobe
	failedTry := o.proto == 6 && o.failed
	// A pair made at its second connection counts the first one, which
	// only marked it, as this one.
	if o.newPair && (failedTry || !o.bulk) {
		p.Start, p.Conns = o.now, 1
		if failedTry {
			p.Failed = 1
		}
	}
	if roll(&p.Start, o.now, d.th.StrobeWindow) {
		p.Conns, p.Failed = 0, 0
	}
	p.Conns++
	if failedTry {
		p.Failed++
	}
	if p.Failed < d.th.StrobeFailed && p.Conns < d.th.StrobeConns {
		return
	}
	subject := fmt.Sprintf("%s:%d/%s", ev.DestIP, ev.DestPort, protoName(o.proto))
	if p.Failed >= d.th.StrobeFailed {
		f.add(ThreatStrobe, subject, "%d refused or unanswered connection attempts from %s to %s in %s (a client whose server is down or blocked)",
			p.Failed, ev.SrcIP, subject, since(o.now, p.Start))
		return
	}
	f.add(ThreatStrobe, subject, "%d connections from %s to %s in %s", p.Conns, ev.SrcIP, subject, since(o.now, p.Start))
}
