package score

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// Ordered is an Engine behind the reorder buffer nfr-score's Filter uses,
// for callers that get events in batches rather than as one stream:
// nfr-engine receives each sensor's dns, ip, http and tls events in
// separate batches, and a flow's ip event is written when the flow ends,
// so arrival order is not time order. Events are held and released to
// the Engine in ts order once an event Window later has arrived, when
// ReorderMax are held, or once Hold of wall-clock time has passed since
// an event at least as new arrived (Tick, which the caller calls every
// second or so). So a live stream's alerts wait about Hold, and batches of
// other types that arrive within Hold of each other are scored in time
// order whatever their order of arrival; an event older than one already
// released is scored at once and counted as late.
type Ordered struct {
	Engine *Engine
	// Hold is how long events wait for older ones from other batches;
	// 0 means DefaultHold.
	Hold  time.Duration
	ro    *reorder
	slot  *event.Event
	marks []mark
}

// DefaultHold is Ordered's default Hold.
const DefaultHold = 5 * time.Second

// mark is the newest event time seen at a Tick.
type mark struct {
	wall   time.Time
	newest int64
}

// NewOrdered puts e behind a reorder buffer of window (0: the default,
// DefaultReorderWindow).
func NewOrdered(e *Engine, window time.Duration) *Ordered {
	return &Ordered{Engine: e, ro: newReorder(window, 0)}
}

// Process holds ev (it may be kept until released) and scores the events
// it lets go, calling emit for their alerts.
func (o *Ordered) Process(ev *event.Event, emit func(alert *event.Event)) {
	o.slot = ev
	o.ro.push(&o.slot, nil, func(ev *event.Event, _ []byte) { o.Engine.Process(ev, emit) })
	o.slot = nil
}

// Advance releases the events a window older than now, then moves the
// engine's clock to now, or to the oldest event still held if that is
// earlier, so held events are not scored after their windows closed.
func (o *Ordered) Advance(now time.Time, emit func(alert *event.Event)) {
	cut := now.UnixNano() - o.ro.window
	for o.ro.n > 0 && o.ro.at(0).ts <= cut {
		o.ro.pop(func(ev *event.Event, _ []byte) { o.Engine.Process(ev, emit) })
	}
	if o.ro.n > 0 {
		if oldest := time.Unix(0, o.ro.at(0).ts); oldest.Before(now) {
			now = oldest
		}
	}
	o.Engine.Advance(now, emit)
}

// Tick releases, in ts order, the events no newer than the newest event
// seen Hold ago (wall clock).
func (o *Ordered) Tick(wall time.Time, emit func(alert *event.Event)) {
	hold := o.Hold
	if hold <= 0 {
		hold = DefaultHold
	}
	o.marks = append(o.marks, mark{wall, o.ro.newest})
	cut, i := int64(math.MinInt64), 0
	for ; i < len(o.marks) && !o.marks[i].wall.After(wall.Add(-hold)); i++ {
		cut = o.marks[i].newest
	}
	o.marks = o.marks[i:]
	for o.ro.n > 0 && o.ro.at(0).ts <= cut {
		o.ro.pop(func(ev *event.Event, _ []byte) { o.Engine.Process(ev, emit) })
	}
}

// Drain scores every held event, in ts order.
func (o *Ordered) Drain(emit func(alert *event.Event)) {
	o.ro.drain(func(ev *event.Event, _ []byte) { o.Engine.Process(ev, emit) })
}

// Held returns how many events wait in the buffer.
func (o *Ordered) Held() int { return o.ro.len() }

// Late returns how many events arrived older than one already scored.
func (o *Ordered) Late() int64 { return o.ro.Late }

// Flush scores what is held, then flushes the engine (Engine.Flush).
func (o *Ordered) Flush(emit func(alert *event.Event)) {
	o.Drain(emit)
	o.Engine.Flush(emit)
}

// Stats returns the engine's counters.
func (o *Ordered) Stats() Stats { return o.Engine.Stats() }

// orderedMagic starts a saved Ordered state: the engine's state, then the
// events held.
const orderedMagic = "nfr-ordered 1\n"

// SaveState writes the engine's state and the events still held, so a
// scorer let go and loaded again loses none of them.
func (o *Ordered) SaveState(w io.Writer) error {
	var b bytes.Buffer
	if err := o.Engine.SaveState(&b); err != nil {
		return err
	}
	held := make([]event.Event, 0, o.ro.n)
	for i := 0; i < o.ro.n; i++ {
		held = append(held, *o.ro.at(i).ev)
	}
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(b.Len()))
	if _, err := io.WriteString(w, orderedMagic); err != nil {
		return err
	}
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	return gob.NewEncoder(w).Encode(held)
}

// LoadState reads what SaveState wrote: the engine's state, and the held
// events back into the buffer.
func (o *Ordered) LoadState(r io.Reader) error {
	head := make([]byte, len(orderedMagic)+8)
	if _, err := io.ReadFull(r, head); err != nil || string(head[:len(orderedMagic)]) != orderedMagic {
		return errors.New("reading state: not a saved reorder buffer and engine state")
	}
	size := binary.BigEndian.Uint64(head[len(orderedMagic):])
	var b bytes.Buffer
	if k, err := io.CopyN(&b, r, int64(min(size, 1<<40))); err != nil || uint64(k) != size {
		return fmt.Errorf("reading state: engine state cut short at %d of %d bytes", k, size)
	}
	if err := o.Engine.LoadState(&b); err != nil {
		return err
	}
	var held []event.Event
	if err := gob.NewDecoder(r).Decode(&held); err != nil {
		return fmt.Errorf("reading state: held events: %v", err)
	}
	o.ro = newReorder(time.Duration(o.ro.window), o.ro.max)
	for i := range held {
		o.Process(&held[i], func(*event.Event) {})
	}
	return nil
}
