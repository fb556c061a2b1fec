package score

import (
	"fmt"
	"time"
)

// Strobes: one source hammering one external address and port. RITA calls
// a pair with a day's worth of connections a strobe; a malware client
// whose C2 is down or blocked shows the same as a run of refused or
// unanswered attempts (CTU's Remcos capture: 718 REJ in 8 minutes). Counts
// are per pair in a sliding window of StrobeWindow (1 h, twelve buckets,
// so it covers 55 to 60 minutes): StrobeFailed refused or unanswered
// attempts, or StrobeConns connections of any kind (one a second). A burst
// straddling what would be the edge of a tumbling hour is counted
// together. Variant space claimed: any pace that reaches the counts within
// the window, TCP or UDP, any port, in one run or in bursts; a slower
// client retrying a dead server (one try a minute) stays below it, as a
// broken application does.
type strobes struct{ th Thresholds }

// strobePair is the strobe detector's part of a pair's state (pairs.go):
// a sliding window held inline, as byteWindow is, but of 16-bit counts
// (saturating; a bucket is 5 minutes) since every pair of the table has
// one: 64 bytes.
type strobePair struct {
	Head  int64                   // number of the newest bucket; 0: empty
	Start int64                   // Unix ns of the first connection since the window was last empty
	B     [shortBuckets][2]uint16 // connections, failed attempts
}

// add counts conns connections (failed of them failed) at now in buckets
// of width and returns the window's counts; false for a connection older
// than the window.
func (w *strobePair) add(now time.Time, width time.Duration, conns, failed int) (sumConns, sumFailed int, ok bool) {
	n := int64(len(w.B))
	b := bucketOf(now, width)
	switch {
	case w.Head == 0:
		w.Head = b
	case b > w.Head:
		for i := w.Head + 1; i <= b && i <= w.Head+n; i++ {
			w.B[ring(i, int(n))] = [2]uint16{}
		}
		w.Head = b
	case b <= w.Head-n:
		return 0, 0, false
	}
	x := &w.B[ring(b, int(n))]
	x[0], x[1] = saturate(x[0], conns), saturate(x[1], failed)
	for i := range w.B {
		sumConns, sumFailed = sumConns+int(w.B[i][0]), sumFailed+int(w.B[i][1])
	}
	// Every call counts a connection (conns >= 1), so the window was
	// empty when these are all it holds.
	if sumConns == conns {
		w.Start = now.UnixNano()
	}
	return sumConns, sumFailed, true
}

func saturate(x uint16, n int) uint16 { return uint16(min(int(x)+n, 1<<16-1)) }

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
	conns, tries := 1, 0
	if failedTry {
		tries = 1
	}
	if o.newPair && !o.bulk { // bulk is set only for TCP that did not fail
		conns, tries = 2*conns, 2*tries
	}
	n, nFailed, ok := p.add(o.now, d.th.StrobeWindow/shortBuckets, conns, tries)
	if !ok || nFailed < d.th.StrobeFailed && n < d.th.StrobeConns {
		return
	}
	subject := fmt.Sprintf("%s:%d/%s", ev.DestIP, ev.DestPort, protoName(o.proto))
	in := windowSince(o.now, time.Unix(0, p.Start), d.th.StrobeWindow)
	if nFailed >= d.th.StrobeFailed {
		f.add(ThreatStrobe, subject, "%d refused or unanswered connection attempts from %s to %s in %s (a client whose server is down or blocked)",
			nFailed, ev.SrcIP, subject, in)
		return
	}
	f.add(ThreatStrobe, subject, "%d connections from %s to %s in %s", n, ev.SrcIP, subject, in)
}
