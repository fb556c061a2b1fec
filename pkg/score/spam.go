package score

import (
	"net/netip"
	"slices"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// Spam bots: SMTP to many external mail servers from one monitored host.
//
// spam counts the external SMTP servers a host tries. Attempts count too
// (ISPs often block tcp/25), but then the host must also have looked up
// mail exchangers, which scanners probing port 25 do not.
//
// Both count in a sliding window of SpamWindow: a server while it was
// tried within the window, MX lookups in twelve buckets (slide.go), so a
// run straddling what would be the edge of a tumbling window is counted
// together.
type spam struct {
	th      Thresholds
	sources *table[netip.Addr, spamWindow]
}

type spamWindow struct {
	Spam []spamServer // external SMTP servers tried in the window, at most 256
	MX   slide[int32] // MX lookups
}

type spamServer struct {
	Addr netip.Addr
	T    int64 // Unix ns of the latest try
	Done bool  // a session completed
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

// mxWidth is the width of the MX lookups' buckets.
func (d *spam) mxWidth() time.Duration { return d.th.SpamWindow / shortBuckets }

func (d *spam) observe(o *observation, f *findings) {
	ev := o.ev
	if ev.Type != event.TypeIP {
		// MX lookups, for the attempts below.
		if ev.QType == "MX" && o.srcInternal {
			if b := d.sources.get(ev.SrcIP, o.now).MX.at(o.now, d.mxWidth(), shortBuckets); b != nil {
				*b++
			}
		}
		return
	}
	if o.proto != 6 || ev.DestPort != 25 || !o.dstExternal || !o.srcInternal {
		return
	}
	s := d.sources.get(ev.SrcIP, o.now)
	t, from := o.now.UnixNano(), o.now.Add(-d.th.SpamWindow).UnixNano()
	// A server already counted stays in the window longer and adds
	// nothing, unless this is its first completed session (a host whose
	// first try was refused got through).
	s.Spam = slices.DeleteFunc(s.Spam, func(x spamServer) bool { return x.T <= from })
	if i := slices.IndexFunc(s.Spam, func(x spamServer) bool { return x.Addr == ev.DestIP }); i >= 0 {
		x := &s.Spam[i]
		x.T = max(x.T, t)
		if o.failed || x.Done {
			return
		}
		x.Done = true
	} else if len(s.Spam) < 256 {
		s.Spam = append(s.Spam, spamServer{Addr: ev.DestIP, T: t, Done: !o.failed})
	}
	n, done, mx := len(s.Spam), 0, int32(0)
	for _, x := range s.Spam {
		if x.Done {
			done++
		}
	}
	s.MX.each(o.now, d.mxWidth(), shortBuckets, func(b *int32) { mx += *b })
	switch {
	case done >= d.th.SpamServers:
		f.add(ThreatSpam, "", "%s completed SMTP sessions (tcp/25) with %d external servers in %s", ev.SrcIP, done, dur(d.th.SpamWindow))
	case n >= d.th.SpamServers && mx >= 3:
		f.add(ThreatSpam, "", "%s tried SMTP (tcp/25) to %d external servers after %d MX lookups in %s", ev.SrcIP, n, mx, dur(d.th.SpamWindow))
	}
}
