package event

import "sync"

// batchSize is how many events travel together to the encoding goroutine;
// large enough to amortise the channel, small enough that a live capture's
// timed flush is not held back (Flush also sends a partial batch).
const batchSize = 1024

// An Encoder encodes events on a goroutine of its own, so the producer
// (a packet decoder, a log parser) and JSON encoding use both cores. The
// goroutine is the only one that writes to the Writer's stream, which keeps
// one owner for stdout, and events come out in the order they went in.
type Encoder struct {
	w     *Writer
	cur   []Event
	full  chan Batch
	free  chan []Event
	done  chan struct{}
	flush chan chan struct{}
	err   error
	errMu sync.Mutex // err is read by the producer through Err
	// each hands on every event at once, for line-buffered output.
	each bool
	// Prepare, when set before the first Emit, runs on each event on the
	// encoding goroutine before it is written: work the producer can hand
	// to the other core.
	Prepare func(*Event)
}

// NewEncoder starts the encoding goroutine over w. With eachLine, every
// event is handed on at once (line-buffered output: a terminal or
// --line-buffered), else in batches.
func NewEncoder(w *Writer, eachLine bool) *Encoder {
	m := &Encoder{
		w:     w,
		each:  eachLine,
		full:  make(chan Batch, 4),
		free:  make(chan []Event, 4),
		done:  make(chan struct{}),
		flush: make(chan chan struct{}),
	}
	for i := 0; i < 4; i++ {
		m.free <- make([]Event, 0, batchSize)
	}
	m.cur = <-m.free
	go m.loop()
	return m
}

func (m *Encoder) loop() {
	defer close(m.done)
	for {
		select {
		case b, ok := <-m.full:
			if !ok {
				return
			}
			m.done1(b)
		case ack := <-m.flush:
			// Everything sent before the request is written by now,
			// since full is drained in order first.
			for drained := false; !drained; {
				select {
				case b := <-m.full:
					m.done1(b)
				default:
					drained = true
				}
			}
			m.w.Flush()
			close(ack)
		}
	}
}

// done1 writes one batch and gives it back.
func (m *Encoder) done1(b Batch) {
	m.write(b)
	if b.Done != nil {
		b.Done()
	} else {
		m.free <- b.Events[:0]
	}
}

// A Batch is events a producer hands to the Encoder whole (EmitBatch)
// instead of one copy each: they are written in the order Order gives
// (indexes into Events; nil is Events' own order), then Done is called
// on the encoding goroutine, after which the Encoder touches them no more.
type Batch struct {
	Events []Event
	Order  []int32
	Done   func()
}

// EmitBatch queues b after everything emitted before.
func (m *Encoder) EmitBatch(b Batch) {
	if len(m.cur) > 0 {
		m.send()
	}
	m.full <- b
}

// Emit queues a copy of e; e and its slices may be reused when Emit
// returns.
func (m *Encoder) Emit(e *Event) {
	m.cur = m.cur[:len(m.cur)+1] // reuse the slot and its slices' capacity
	m.cur[len(m.cur)-1].CopyFrom(e)
	if m.each || len(m.cur) == cap(m.cur) {
		m.send()
	}
}

// CopyFrom makes e a copy of src, reusing the storage of e's slices:
// queues of reused events (Encoder, capture.Pipeline) copy with it. The
// slices the capture analysers fill (Answers, TTLs, ALPN, Flags, Groups)
// and the ICMP pointers are copied; Threats, Examples and AuthSuccess are
// shared with src (their producers do not write to them once emitted). Storage a nil slice of src does not
// need is kept aside (as Reset does), so a slot that carried a DNS event,
// then a flow, has it again for the next DNS event.
func (e *Event) CopyFrom(src *Event) {
	sp := e.spare
	answers, alpn := larger(e.Answers, sp.answers), larger(e.ALPN, sp.alpn)
	flags, groups := larger(e.Flags, sp.flags), larger(e.Groups, sp.groups)
	ttls := larger(e.TTLs, sp.ttls)
	*e = *src
	// nil and empty differ on the wire (no response seen, or a response
	// without answers), so keep nil-ness.
	e.Answers, sp.answers = copyInto(answers, src.Answers)
	e.TTLs, sp.ttls = copyInto(ttls, src.TTLs)
	e.ALPN, sp.alpn = copyInto(alpn, src.ALPN)
	e.Flags, sp.flags = copyInto(flags, src.Flags)
	e.Groups, sp.groups = copyInto(groups, src.Groups)
	e.spare = sp // not src's: that storage is src's own
	if src.ICMPType != nil {
		v := *src.ICMPType
		e.ICMPType = &v
	}
	if src.ICMPCode != nil {
		v := *src.ICMPCode
		e.ICMPCode = &v
	}
}

// copyInto copies src into dst's storage, keeping nil apart from empty;
// when src is nil, dst is returned second, to be kept for later.
func copyInto[T any](dst, src []T) (copied, spare []T) {
	if src == nil {
		return nil, dst
	}
	if dst == nil {
		dst = make([]T, 0, len(src))
	}
	return append(dst[:0], src...), nil
}

// write writes a batch; after a write error, batches are dropped (the
// producer sees the error through Err).
func (m *Encoder) write(b Batch) {
	m.errMu.Lock()
	failed := m.err != nil
	m.errMu.Unlock()
	if failed {
		return
	}
	// Prepare runs here, on this encoder's goroutine, not under the
	// Writer's lock, which the encoders of several capture workers share.
	if m.Prepare != nil {
		if b.Order == nil {
			for i := range b.Events {
				m.Prepare(&b.Events[i])
			}
		} else {
			for _, i := range b.Order {
				m.Prepare(&b.Events[i])
			}
		}
	}
	if err := m.w.WriteEvents(b.Events, b.Order); err != nil {
		m.errMu.Lock()
		m.err = err
		m.errMu.Unlock()
	}
}

// Err returns the first write error seen so far.
func (m *Encoder) Err() error {
	m.errMu.Lock()
	defer m.errMu.Unlock()
	return m.err
}

func (m *Encoder) send() {
	m.full <- Batch{Events: m.cur}
	m.cur = (<-m.free)[:0]
}

// Pass hands on the events queued so far without waiting for them; live
// captures call it on every clock tick so the Writer's timed flush sees
// them.
func (m *Encoder) Pass() {
	if len(m.cur) > 0 {
		m.send()
	}
}

// Flush hands on the events queued so far and waits until they are written
// to the Writer and flushed.
func (m *Encoder) Flush() {
	if len(m.cur) > 0 {
		m.send()
	}
	ack := make(chan struct{})
	m.flush <- ack
	<-ack
}

// Close writes everything queued and stops the goroutine. It returns the
// first write error.
func (m *Encoder) Close() error {
	if len(m.cur) > 0 {
		m.send()
	}
	close(m.full)
	<-m.done
	return m.Err()
}
