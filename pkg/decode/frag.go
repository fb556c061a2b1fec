package decode

import (
	"net/netip"
	"sort"
	"time"
)

// ReassemblyLimits bound the memory and time spent on IP fragments.
type ReassemblyLimits struct {
	MaxDatagrams int           // datagrams being rebuilt at once
	MaxBytes     int           // bytes held across all of them
	Timeout      time.Duration // a datagram not complete by then is dropped
}

// DefaultReassemblyLimits are those of the Linux kernel's defaults in
// spirit: 30 s, a few MiB.
var DefaultReassemblyLimits = ReassemblyLimits{MaxDatagrams: 1024, MaxBytes: 4 << 20, Timeout: 30 * time.Second}

// ReassemblyStats counts the reassembler's work and losses.
type ReassemblyStats struct {
	Completed uint64
	TimedOut  uint64 // datagrams dropped incomplete after the timeout
	Evicted   uint64 // datagrams dropped to stay within the limits
	Invalid   uint64 // fragments past 65535 bytes or overlapping inconsistently
}

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
	v6       bool
}

type fragPiece struct {
	off  int
	data []byte
}

type datagram struct {
	first  time.Time
	pieces []fragPiece
	total  int // length of the whole payload, known once the last fragment came
	bytes  int
}

// Reassembler rebuilds IPv4 and IPv6 datagrams from their fragments.
type Reassembler struct {
	limits ReassemblyLimits
	m      map[fragKey]*datagram
	bytes  int
	out    []byte
	Stats  ReassemblyStats
}

// NewReassembler returns a reassembler within l.
func NewReassembler(l ReassemblyLimits) *Reassembler {
	return &Reassembler{limits: l, m: map[fragKey]*datagram{}}
}

// Add stores one fragment (payload at byte offset off; more is the MF flag)
// and returns the whole payload when the datagram is complete. The returned
// slice is valid until the next call.
func (r *Reassembler) Add(k fragKey, ts time.Time, off int, more bool, payload []byte) ([]byte, bool) {
	if off+len(payload) > 65535 {
		r.Stats.Invalid++
		return nil, false
	}
	dg := r.m[k]
	if dg != nil && r.limits.Timeout > 0 && ts.Sub(dg.first) > r.limits.Timeout {
		r.drop(k, dg)
		r.Stats.TimedOut++
		dg = nil
	}
	if dg == nil {
		for len(r.m) >= r.limits.MaxDatagrams || r.bytes+len(payload) > r.limits.MaxBytes {
			if !r.evictOldest() {
				break
			}
		}
		if r.bytes+len(payload) > r.limits.MaxBytes {
			r.Stats.Evicted++
			return nil, false
		}
		dg = &datagram{first: ts, total: -1}
		r.m[k] = dg
	}
	dg.pieces = append(dg.pieces, fragPiece{off: off, data: append([]byte(nil), payload...)})
	dg.bytes += len(payload)
	r.bytes += len(payload)
	if !more {
		dg.total = off + len(payload)
	}
	if dg.total < 0 {
		return nil, false
	}
	sort.SliceStable(dg.pieces, func(i, j int) bool { return dg.pieces[i].off < dg.pieces[j].off })
	covered := 0
	for _, pc := range dg.pieces {
		if pc.off > covered {
			return nil, false // a hole remains
		}
		covered = max(covered, pc.off+len(pc.data))
	}
	if covered < dg.total {
		return nil, false
	}
	if cap(r.out) < dg.total {
		r.out = make([]byte, dg.total)
	}
	r.out = r.out[:dg.total]
	// Earlier fragments win where they overlap, as BSD and Zeek do.
	for i := len(dg.pieces) - 1; i >= 0; i-- {
		pc := dg.pieces[i]
		if pc.off < dg.total {
			copy(r.out[pc.off:dg.total], pc.data)
		}
	}
	r.drop(k, dg)
	r.Stats.Completed++
	return r.out, true
}

func (r *Reassembler) drop(k fragKey, dg *datagram) {
	r.bytes -= dg.bytes
	delete(r.m, k)
}

func (r *Reassembler) evictOldest() bool {
	var oldK fragKey
	var old *datagram
	for k, dg := range r.m {
		if old == nil || dg.first.Before(old.first) {
			oldK, old = k, dg
		}
	}
	if old == nil {
		return false
	}
	r.drop(oldK, old)
	r.Stats.Evicted++
	return true
}

// Expire drops datagrams older than the timeout at now.
func (r *Reassembler) Expire(now time.Time) {
	if len(r.m) == 0 || r.limits.Timeout <= 0 {
		return
	}
	for k, dg := range r.m {
		if now.Sub(dg.first) > r.limits.Timeout {
			r.drop(k, dg)
			r.Stats.TimedOut++
		}
	}
}

// Pending returns how many datagrams are incomplete.
func (r *Reassembler) Pending() int { return len(r.m) }
