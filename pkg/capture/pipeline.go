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
// close); the pipeline's goroutine replays that queue in order, handing the
// events on and running the handler, whose events go straight on. So the
// events come out in exactly the order one goroutine gives.
//
// Live captures do not use it: a queue that fills before it moves would
// hold events back.
type Pipeline struct {
	out    func(*event.Event) // downstream, called from the pipeline's goroutine
	h      decode.Handler     // the handler run there
	outer  decode.OuterHandler
	cur    *lot
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
	opSync                  // close(ack)
)

type op struct {
	kind opKind
	i    int32
	now  time.Time
	ack  chan struct{}
}

// lot is a batch of queued operations and the storage they point into,
// reused once replayed.
type lot struct {
	ops     []op
	events  []event.Event
	packets []decode.Packet
	payload []byte
}

// A lot is handed on after lotOps operations or lotPayload bytes of
// payload, whichever comes first; lotsInFlight of them bound the queue.
const (
	lotOps       = 1024
	lotPayload   = 256 << 10
	lotsInFlight = 4
)

// NewPipeline starts a pipeline whose goroutine hands events to out.
// Offload then gives it its handler; Close stops it.
func NewPipeline(out func(*event.Event)) *Pipeline {
	pl := &Pipeline{out: out, full: make(chan *lot, lotsInFlight), free: make(chan *lot, lotsInFlight),
		done: make(chan struct{})}
	for i := 0; i < lotsInFlight; i++ {
		pl.free <- &lot{ops: make([]op, 0, lotOps)}
	}
	pl.cur = <-pl.free
	go pl.run()
	return pl
}

// Offload makes h the handler run on the pipeline's goroutine and returns
// the handler that queues its calls, for the reading goroutine. h's events
// must go to the pipeline's out directly, not through Emit.
func (pl *Pipeline) Offload(h decode.Handler) decode.Handler {
	pl.h = h
	pl.outer, _ = h.(decode.OuterHandler)
	return offloaded{pl}
}

// Emit queues a copy of e, to be handed on after what the offloaded handler
// was given before; e may be reused when Emit returns.
func (pl *Pipeline) Emit(e *event.Event) {
	l := pl.cur
	n := len(l.events)
	if n < cap(l.events) {
		l.events = l.events[:n+1] // reuse the slot and its slices' storage
	} else {
		l.events = append(l.events, event.Event{})
	}
	l.events[n].CopyFrom(e)
	pl.queue(op{kind: opEvent, i: int32(n)})
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
	pl.queue(op{kind: opSync, ack: ack})
	pl.send()
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
		pl.replay(l)
		clear(l.packets) // drop the strings and payloads they point to
		l.ops, l.events, l.packets, l.payload = l.ops[:0], l.events[:0], l.packets[:0], l.payload[:0]
		pl.free <- l
	}
}

func (pl *Pipeline) replay(l *lot) {
	for _, o := range l.ops {
		switch o.kind {
		case opEvent:
			pl.out(&l.events[o.i])
		case opPacket:
			pl.h.HandlePacket(&l.packets[o.i])
		case opOuter:
			pl.outer.HandleOuter(&l.packets[o.i])
		case opAdvance:
			pl.h.Advance(o.now)
		case opClose:
			pl.h.Close()
		case opSync:
			close(o.ack)
		}
	}
}

// offloaded stands in for the offloaded handler on the reading goroutine.
type offloaded struct{ pl *Pipeline }

func (o offloaded) HandlePacket(p *decode.Packet) { o.pl.packet(opPacket, p) }
func (o offloaded) Advance(now time.Time)         { o.pl.queue(op{kind: opAdvance, now: now}) }
func (o offloaded) Close()                        { o.pl.queue(op{kind: opClose}) }

// HandleOuter queues the outer packet of a tunnel when the handler wants
// those.
func (o offloaded) HandleOuter(p *decode.Packet) {
	if o.pl.outer != nil {
		o.pl.packet(opOuter, p)
	}
}
