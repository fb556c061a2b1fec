package score

import (
	"math"
	"sort"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// Events reach nfr-score out of time order: Zeek writes a connection when it
// ends (its ts is when it began), sensors batch, and `cat conn.log dns.log`
// puts one log after the other. The detectors' windows are in event time,
// so nfr-score holds events in a bounded buffer and releases them in ts
// order, as Zeek's and RITA's analyses sort before they score: an event is
// released once an event ReorderWindow later has arrived, or when the
// buffer holds ReorderMax events, or at the end of the input. Within the
// window, arrival order does not change what is scored; an event older
// than one already released is scored at once and counted as late.
const (
	DefaultReorderWindow = 5 * time.Minute
	ReorderMax           = 16384
)

// held is one buffered event and its line. The event is taken from its
// batch (a spare takes its place), so holding copies only the line.
type held struct {
	ev   *event.Event
	line []byte
	seq  uint64
	ts   int64 // ev.TS in Unix ns
}

// reorder is the buffer: a ring of held events sorted by (ts, arrival).
// Streams are mostly in order, so an event usually goes at the tail; one
// out of order is put in place by moving the pointers after it.
type reorder struct {
	window int64 // nanoseconds
	max    int
	ring   []*held // len is a power of two
	head   int
	n      int
	free   []*held
	spares []*event.Event // released events, to put in batches' slots
	seq    uint64
	newest int64 // latest ts seen, Unix ns
	out    int64 // latest ts released
	Late   int64 // events older than one already released
}

func newReorder(window time.Duration, max int) *reorder {
	if window <= 0 {
		window = DefaultReorderWindow
	}
	if max <= 0 {
		max = ReorderMax
	}
	return &reorder{window: int64(window), max: max, ring: make([]*held, 64), out: math.MinInt64, newest: math.MinInt64}
}

func (r *reorder) at(i int) *held { return r.ring[(r.head+i)&(len(r.ring)-1)] }

// push buffers the event in slot and its line and calls release for every
// event it lets go, in ts order. It takes the event out of the slot and
// puts a spare in; the event and line passed to release are valid until
// release returns.
func (r *reorder) push(slot **event.Event, line []byte, release func(*event.Event, []byte)) {
	ev := *slot
	ts := ev.TS.UnixNano()
	if ts < r.out {
		r.Late++
		release(ev, line)
		return
	}
	var h *held
	if k := len(r.free); k > 0 {
		h, r.free = r.free[k-1], r.free[:k-1]
	} else {
		h = new(held)
	}
	if k := len(r.spares); k > 0 {
		*slot, r.spares = r.spares[k-1], r.spares[:k-1]
	} else {
		*slot = new(event.Event)
	}
	r.seq++
	h.ev, h.line, h.seq, h.ts = ev, append(h.line[:0], line...), r.seq, ts
	r.insert(h)
	if ts > r.newest {
		r.newest = ts
	}
	cut := r.newest - r.window
	for r.n > 0 && (r.n > r.max || r.at(0).ts <= cut) {
		r.pop(release)
	}
}

// insert puts h after every held event with a ts not later than its own.
func (r *reorder) insert(h *held) {
	if r.n == len(r.ring) {
		grown := make([]*held, 2*len(r.ring))
		for i := 0; i < r.n; i++ {
			grown[i] = r.at(i)
		}
		r.ring, r.head = grown, 0
	}
	mask := len(r.ring) - 1
	i := r.n
	if i > 0 && r.at(i-1).ts > h.ts {
		i = sort.Search(r.n, func(j int) bool { return r.at(j).ts > h.ts })
		for j := r.n; j > i; j-- {
			r.ring[(r.head+j)&mask] = r.ring[(r.head+j-1)&mask]
		}
	}
	r.ring[(r.head+i)&mask] = h
	r.n++
}

// drain releases everything held.
func (r *reorder) drain(release func(*event.Event, []byte)) {
	for r.n > 0 {
		r.pop(release)
	}
}

// len returns how many events are held.
func (r *reorder) len() int { return r.n }

func (r *reorder) pop(release func(*event.Event, []byte)) {
	h := r.at(0)
	r.ring[r.head] = nil
	r.head = (r.head + 1) & (len(r.ring) - 1)
	r.n--
	if h.ts > r.out {
		r.out = h.ts
	}
	release(h.ev, h.line)
	r.spares = append(r.spares, h.ev)
	h.ev = nil
	r.free = append(r.free, h)
}
