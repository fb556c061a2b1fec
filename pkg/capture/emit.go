package capture

import (
	"github.com/nfr-project/nfr/pkg/event"
)

// batchSize is how many events travel together to the encoding goroutine;
// large enough to amortise the channel, small enough that a live capture's
// timed flush is not held back (Flush also sends a partial batch).
const batchSize = 256

// Emitter encodes events on a goroutine of its own, so decoding and JSON
// encoding use both cores. The goroutine is the only one that writes to
// the event.Writer's stream, which keeps one owner for stdout.
type Emitter struct {
	w     *event.Writer
	cur   []event.Event
	full  chan []event.Event
	free  chan []event.Event
	done  chan struct{}
	flush chan chan struct{}
	err   error
	// each hands on every event at once, for line-buffered output.
	each bool
}

// NewEmitter starts the encoding goroutine over w. With eachLine, every
// event is handed on at once (line-buffered output: a terminal or
// --line-buffered), else in batches.
func NewEmitter(w *event.Writer, eachLine bool) *Emitter {
	m := &Emitter{
		w:     w,
		each:  eachLine,
		full:  make(chan []event.Event, 4),
		free:  make(chan []event.Event, 4),
		done:  make(chan struct{}),
		flush: make(chan chan struct{}),
	}
	for i := 0; i < 4; i++ {
		m.free <- make([]event.Event, 0, batchSize)
	}
	m.cur = <-m.free
	go m.loop()
	return m
}

func (m *Emitter) loop() {
	defer close(m.done)
	var scratch []byte
	for {
		select {
		case b, ok := <-m.full:
			if !ok {
				return
			}
			for i := range b {
				if m.err == nil {
					scratch, m.err = m.w.WriteEvent(&b[i], scratch)
				}
			}
			m.free <- b[:0]
		case ack := <-m.flush:
			// Everything sent before the request is written by now,
			// since full is drained in order first.
			for drained := false; !drained; {
				select {
				case b := <-m.full:
					for i := range b {
						if m.err == nil {
							scratch, m.err = m.w.WriteEvent(&b[i], scratch)
						}
					}
					m.free <- b[:0]
				default:
					drained = true
				}
			}
			m.w.Flush()
			close(ack)
		}
	}
}

// Emit queues a copy of e; e may be reused when Emit returns.
func (m *Emitter) Emit(e *event.Event) {
	m.cur = m.cur[:len(m.cur)+1] // reuse the slot and its slices' capacity
	c := &m.cur[len(m.cur)-1]
	answers, ttls := c.Answers[:0], c.TTLs[:0]
	*c = *e
	c.Answers, c.TTLs = nil, nil
	// nil and empty differ on the wire (no response seen, or a response
	// without answers), so keep nil-ness.
	if e.Answers != nil {
		if answers == nil {
			answers = make([]string, 0, len(e.Answers))
		}
		c.Answers = append(answers, e.Answers...)
	}
	if e.TTLs != nil {
		if ttls == nil {
			ttls = make([]uint32, 0, len(e.TTLs))
		}
		c.TTLs = append(ttls, e.TTLs...)
	}
	if m.each || len(m.cur) == cap(m.cur) {
		m.send()
	}
}

func (m *Emitter) send() {
	m.full <- m.cur
	m.cur = (<-m.free)[:0]
}

// Pass hands on the events queued so far without waiting for them; live
// captures call it on every clock tick so the Writer's timed flush sees
// them.
func (m *Emitter) Pass() {
	if len(m.cur) > 0 {
		m.send()
	}
}

// Flush hands on the events queued so far and waits until they are written
// to the Writer and flushed.
func (m *Emitter) Flush() {
	if len(m.cur) > 0 {
		m.send()
	}
	ack := make(chan struct{})
	m.flush <- ack
	<-ack
}

// Close writes everything queued and stops the goroutine. It returns the
// first write error.
func (m *Emitter) Close() error {
	if len(m.cur) > 0 {
		m.send()
	}
	close(m.full)
	<-m.done
	return m.err
}
