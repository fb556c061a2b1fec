package capture

import (
	"time"

	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
)

// A Pipeline runs one handler (the flow table) on a goroutine of its own
// while the reading goroutine decodes and runs the other analysers, so
// reading a file keeps both cores busy: on a capture of short connections
// the flow table is half of the analysers' work. The reading goroutine
// queues, in the order it makes them, its analysers' events and the
// handler's calls (packets with their payload copied, clock advances, the
// close); the pipeline's goroutine replays that queue in order, adding the
// handler's events where they come, and hands the whole to the encoder. So
// the events come out in exactly the order one goroutine gives, and each
// is copied once, as the encoder alone would.
//
// Live captures do not use it: a queue that fills before it moves would
// hold events back.
type Pipeline struct {
	out    func(event.Batch)  // the encoder's EmitBatch
	emit   func(*event.Event) // the encoder's Emit, for a lot's overflow
	h      decode.Handler     // the handler run there
	outer  decode.OuterHandler
	cur    *lot // being filled by the reading goroutine
	replay *lot // being replayed by the pipeline's goroutine
	full   chan *lot
	free   chan *lot
	done   chan struct{}
	closed bool
}

// opKind is what one queued operation does.
type opKind uint8

const (
	opEvent   opKind = iota // hand events[i] on
	opPacket                // h.HandlePacket(&packets[i])
	opOuter                 // h.HandleOuter(&packets[i])
	opAdvance               // h.Advance(now)
	opClose                 // h.Close()
)

// op is small and without pointers, since one is queued for every packet
// and event: Advance's time is kept aside, at i.
type op struct {
	kind opKind
	i    int32
}

// lot is a batch of queued operations and the storage they point into,
// reused once the encoder has written its events.
type lot struct {
	ops     []op
	events  []event.Event // the reading goroutine's, then the handler's
	order   []int32       // the events in the order to write them
	packets []decode.Packet
	payload []byte
	times   []time.Time   // of the Advance operations
	ack     chan struct{} // Sync's, closed once the events are handed on (a Sync ends its lot)
	release func()        // gives the lot back; made once
}

// A lot is handed on after lotOps operations or lotPayload bytes of
// payload, whichever comes first; lotsInFlight of them bound the queue
// (one filling, one replaying, the rest with the encoder).
const (
	lotOps       = 1024
	lotPayload   = 256 << 10
	lotsInFlight = 6
)

// maxLotEvents bounds the events a lot holds. The handler may emit many
// while one lot is replayed (its Close, a timeout that ends thousands of
// flows at once); those beyond go to the encoder one by one.
const maxLotEvents = lotOps + lotOps/2

// NewPipeline starts a pipeline whose goroutine hands the events to an
// encoder's EmitBatch (out) and, past maxLotEvents, Emit (emit). Offload
// then gives it its handler, whose events go to EmitOffloaded; Close
// stops it.
func NewPipeline(out func(event.Batch), emit func(*event.Event)) *Pipeline {
	pl := &Pipeline{out: out, emit: emit, full: make(chan *lot, lotsInFlight), free: make(chan *lot, lotsInFlight),
		done: make(chan struct{})}
	for i := 0; i < lotsInFlight; i++ {
		l := &lot{ops: make([]op, 0, lotOps)}
		l.release = func() {
			// The packets are not cleared: the next use overwrites them,
			// and what they point to meanwhile is the lot's own payload
			// buffer (or an array it outgrew) and source and tunnel
			// names; clearing 1024 of them showed in the profile.
			l.ops, l.events, l.order, l.packets, l.payload = l.ops[:0], l.events[:0], l.order[:0], l.packets[:0], l.payload[:0]
			l.times, l.ack = l.times[:0], nil
			pl.free <- l
		}
		pl.free <- l
	}
	pl.cur = <-pl.free
	go pl.run()
	return pl
}

// Offload makes h the handler run on the pipeline's goroutine and returns
// the handler that queues its calls, for the reading goroutine.
func (pl *Pipeline) Offload(h decode.Handler) decode.Handler {
	pl.h = h
	pl.outer, _ = h.(decode.OuterHandler)
	return offloaded{pl}
}

// Emit queues a copy of e, to be handed on after what the offloaded handler
// was given before; e may be reused when Emit returns. For the reading
// goroutine's analysers.
func (pl *Pipeline) Emit(e *event.Event) {
	pl.queue(op{kind: opEvent, i: pl.cur.add(e)})
}

// EmitOffloaded is Emit for the offloaded handler, on the pipeline's
// goroutine: e goes where the replay has got to.
func (pl *Pipeline) EmitOffloaded(e *event.Event) {
	l := pl.replay
	if len(l.events) < maxLotEvents {
		l.order = append(l.order, l.add(e))
		return
	}
	if len(l.order) > 0 {
		// What comes before e goes first; the lot is released with its
		// last batch.
		pl.out(event.Batch{Events: l.events, Order: l.order, Done: func() {}})
		l.order = make([]int32, 0, 64)
	}
	pl.emit(e)
}

// add copies e into the next event slot of l.
func (l *lot) add(e *event.Event) int32 {
	n := len(l.events)
	if n < cap(l.events) {
		l.events = l.events[:n+1] // reuse the slot and its slices' storage
	} else {
		l.events = append(l.events, event.Event{})
	}
	l.events[n].CopyFrom(e)
	return int32(n)
}

// packet queues a call of the handler on a copy of p.
func (pl *Pipeline) packet(kind opKind, p *decode.Packet) {
	l := pl.cur
	n := len(l.packets)
	l.packets = append(l.packets, *p)
	if len(p.Payload) > 0 {
		// A payload buffer that grows leaves the earlier copies in the old
		// array, which stays as long as they point into it.
		start := len(l.payload)
		l.payload = append(l.payload, p.Payload...)
		l.packets[n].Payload = l.payload[start:len(l.payload):len(l.payload)]
	}
	pl.queue(op{kind: kind, i: int32(n)})
}

func (pl *Pipeline) queue(o op) {
	l := pl.cur
	l.ops = append(l.ops, o)
	if len(l.ops) >= lotOps || len(l.payload) >= lotPayload {
		pl.send()
	}
}

// send hands the current lot to the pipeline's goroutine and takes an
// empty one, waiting for it when all are in flight.
func (pl *Pipeline) send() {
	if len(pl.cur.ops) == 0 {
		return
	}
	pl.full <- pl.cur
	pl.cur = <-pl.free
}

// Sync waits until everything queued so far has been replayed: the
// offloaded handler is then idle until the next call, and its counters can
// be read (SIGUSR1).
func (pl *Pipeline) Sync() {
	if pl.closed {
		return
	}
	ack := make(chan struct{})
	pl.cur.ack = ack
	pl.full <- pl.cur // even without operations: it follows those in flight
	pl.cur = <-pl.free
	<-ack
}

// Close replays what is queued and stops the goroutine; queue the
// handler's Close before (the decoder's Close does).
func (pl *Pipeline) Close() {
	if pl.closed {
		return
	}
	pl.closed = true
	pl.send()
	close(pl.full)
	<-pl.done
}

func (pl *Pipeline) run() {
	defer close(pl.done)
	for l := range pl.full {
		pl.replay = l
		for _, o := range l.ops {
			switch o.kind {
			case opEvent:
				l.order = append(l.order, o.i)
			case opPacket:
				pl.h.HandlePacket(&l.packets[o.i])
			case opOuter:
				pl.outer.HandleOuter(&l.packets[o.i])
			case opAdvance:
				pl.h.Advance(l.times[o.i])
			case opClose:
				pl.h.Close()
			}
		}
		pl.replay = nil
		// Sync's caller may write to the encoder once answered: hand the
		// events on first. A lot whose events overflowed (EmitOffloaded)
		// has an empty order then, but the encoder may still be reading
		// them: it is given back after them, not at once. The lot may be
		// given back (and its ack cleared) as soon as it is handed on.
		ack := l.ack
		if len(l.events) > 0 {
			pl.out(event.Batch{Events: l.events, Order: l.order, Done: l.release})
		} else {
			l.release()
		}
		if ack != nil {
			close(ack)
		}
	}
}

// offloaded stands in for the offloaded handler on the reading goroutine.
type offloaded struct{ pl *Pipeline }

func (o offloaded) HandlePacket(p *decode.Packet) { o.pl.packet(opPacket, p) }
func (o offloaded) Advance(now time.Time) {
	l := o.pl.cur
	l.times = append(l.times, now)
	o.pl.queue(op{kind: opAdvance, i: int32(len(l.times) - 1)})
}
func (o offloaded) Close() { o.pl.queue(op{kind: opClose}) }

// HandleOuter queues the outer packet of a tunnel when the handler wants
// those.
func (o offloaded) HandleOuter(p *decode.Packet) {
	if o.pl.outer != nil {
		o.pl.packet(opOuter, p)
	}
}
