package score

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/intel"
)

// Filter is nfr-score's stream loop: event lines in, alert lines out.
// Reading, decoding and scoring run on goroutines of their own, so they
// share the cores while events are scored in input order.
type Filter struct {
	Engine *Engine
	Out    *event.Writer
	// Warn is called for every bad line, with "FILE:LINE: why".
	Warn func(msg string)
	// MinSeverity drops alerts below it.
	MinSeverity int
	// Reload delivers new feeds (after SIGHUP); they take effect between
	// two events.
	Reload <-chan *intel.Set
	// Reloaded, if set, is called after new feeds took effect.
	Reloaded func(*intel.Set)
	// AfterBatch, if set, is called on the scoring goroutine after each
	// batch of input lines (checkpoints, periodic stats); an error stops
	// Run.
	AfterBatch func() error

	Lines   int64 // event lines read
	Skipped int64 // bad lines
	Alerts  int64 // alerts written

	// Idle, if set, is called after a pause of the input released the
	// events held for reordering (to flush the output).
	Idle func()
	// ReorderWindow is how far out of time order events may arrive and
	// still be scored in order; 0 means DefaultReorderWindow.
	ReorderWindow time.Duration

	buf  []byte
	line []byte // of the event being scored
	werr error
	ro   *reorder

	drained time.Time // wall time the reorder buffer was last drained early
}

type batch struct {
	evs   []*event.Event // the reorder buffer takes events out and puts spares in
	ends  []int          // where each event's line ends in text
	text  []byte         // the events' lines, one after the other
	lines []int64        // their line numbers
	bad   []string       // why a line could not be decoded, or ""
	// skips are the reader's warnings about lines it skipped (too long,
	// not an object), each before event index at, so they are reported in
	// input order with the decoders' ones.
	skips []skipWarn
	n     int
	last  bool          // the reader stopped after this batch
	err   error         // why, when not at the end of input
	done  chan struct{} // a decoder finished the batch
}

type skipWarn struct {
	at  int
	msg string
}

const (
	batchSize = 256
	batches   = 8
)

// Run scores every event of r (named name in messages) and returns the
// first read or write error. Call Flush after the last input.
func (f *Filter) Run(r io.Reader, name string) error {
	return f.RunAll([]io.Reader{r}, []string{name})
}

// RunAll scores the events of several inputs merged by timestamp (each
// input is taken to be in time order but for the reorder window), as
// `nfr-score conn.log dns.log` should see them. Per input, one goroutine
// reads lines and decoders turn them into events in parallel; the caller's
// goroutine merges, reorders, scores and writes the alerts. It returns the
// first read or write error.
func (f *Filter) RunAll(rs []io.Reader, names []string) error {
	if f.ro == nil {
		f.ro = newReorder(f.ReorderWindow, 0)
	}
	ins := make([]*input, len(rs))
	for i := range rs {
		ins[i] = f.open(rs[i], names[i])
	}
	defer func() {
		for _, in := range ins {
			in.close(f)
		}
	}()
	heads := make([]**event.Event, len(ins))
	lines := make([][]byte, len(ins))
	for i, in := range ins {
		var err error
		if heads[i], lines[i], err = in.next(f); err != nil {
			return err
		}
	}
	for {
		j := -1
		for i, h := range heads {
			if h != nil && (j < 0 || (*h).TS.Before((*heads[j]).TS)) {
				j = i
			}
		}
		if j < 0 {
			return f.werr
		}
		f.Lines++
		f.ro.push(heads[j], lines[j], f.score)
		if f.werr != nil {
			return f.werr
		}
		var err error
		if heads[j], lines[j], err = ins[j].next(f); err != nil {
			return err
		}
	}
}

// score runs one event, released in time order, through the engine.
func (f *Filter) score(ev *event.Event, line []byte) {
	if f.Reload != nil {
		select {
		case s := <-f.Reload:
			f.Engine.SetFeeds(s)
			if f.Reloaded != nil {
				f.Reloaded(s)
			}
		default:
		}
	}
	// Incident updates the clock releases are not about this line: they
	// are written from their own fields.
	f.line = nil
	f.Engine.Advance(ev.TS, f.emit)
	f.line = line
	f.Engine.Process(ev, f.emit)
	f.line = nil
}

// Late returns how many events arrived after an event later than them
// had been scored (more than the reorder window out of order).
func (f *Filter) Late() int64 {
	if f.ro == nil {
		return 0
	}
	return f.ro.Late
}

// input is one input being read and decoded.
type input struct {
	er       *event.Reader
	order    chan *batch // decoded batches, in input order
	free     chan *batch
	stop     chan struct{}
	cur      *batch
	i, start int
	finished bool
	// afterDone says AfterBatch ran for cur.
	afterDone bool
	idle      *time.Timer
	live      bool // a pipe or terminal, not a regular file
}

// open starts reading and decoding r.
func (f *Filter) open(r io.Reader, name string) *input {
	free := make(chan *batch, batches)
	order := make(chan *batch, batches) // to the scorer, in input order
	jobs := make(chan *batch, batches)  // to the decoders
	for i := 0; i < batches; i++ {
		free <- newBatch()
	}
	stop := make(chan struct{})
	var cur *batch
	next := func() bool {
		select {
		case cur = <-free:
			cur.n, cur.err, cur.last = 0, nil, false
			cur.text, cur.ends, cur.lines, cur.skips = cur.text[:0], cur.ends[:0], cur.lines[:0], cur.skips[:0]
			return true
		case <-stop:
			return false
		}
	}
	send := func() bool {
		select {
		case order <- cur:
		case <-stop:
			return false
		}
		jobs <- cur
		return true
	}
	// Before the reader blocks for more input, the lines it has are handed
	// on, so a live stream is scored as it comes.
	fr := &flushReader{r: r, flush: func() {
		if cur != nil && cur.n > 0 {
			if !send() || !next() {
				cur = newBatch()
			}
		}
	}}
	er := event.NewReader(fr, name)
	if f.Warn != nil {
		// Called on the reader's goroutine, which owns cur.
		er.Warn = func(msg string) { cur.skips = append(cur.skips, skipWarn{cur.n, msg}) }
	}
	go func() {
		defer close(order)
		defer close(jobs)
		if !next() {
			return
		}
		for {
			line, err := er.Next()
			if err != nil {
				cur.last = true
				if err != io.EOF {
					cur.err = err
				}
				send()
				return
			}
			cur.text = append(cur.text, line...)
			cur.ends = append(cur.ends, len(cur.text))
			cur.lines = append(cur.lines, er.Line())
			cur.n++
			if cur.n == batchSize && (!send() || !next()) {
				return
			}
		}
	}()
	decoders := min(max(runtime.GOMAXPROCS(0), 1), 4)
	for range decoders {
		go func() {
			for b := range jobs {
				b.bad = b.bad[:0]
				start := 0
				for i := 0; i < b.n; i++ {
					reason := ""
					if err := event.Unmarshal(b.text[start:b.ends[i]], b.evs[i]); err != nil {
						reason = err.Error()
					}
					b.bad = append(b.bad, reason)
					start = b.ends[i]
				}
				b.done <- struct{}{}
			}
		}()
	}
	live := false
	if fh, ok := r.(*os.File); ok {
		if st, err := fh.Stat(); err == nil && !st.Mode().IsRegular() {
			live = true
		}
	}
	return &input{er: er, order: order, free: free, stop: stop, live: live}
}

// next returns the slot of the input's next event and its line, valid
// until the next call, or nil at the end of the input. Bad lines are
// counted and reported. The reorder buffer may take the event out of its
// slot and leave a spare in its place.
func (in *input) next(f *Filter) (**event.Event, []byte, error) {
	for {
		if in.finished {
			return nil, nil, nil
		}
		if in.cur == nil {
			b, ok := in.wait(f)
			if !ok {
				in.finished = true
				return nil, nil, nil
			}
			<-b.done
			in.cur, in.i, in.start, in.afterDone = b, 0, 0, false
		}
		b := in.cur
		for len(b.skips) > 0 && b.skips[0].at <= in.i {
			f.Warn(b.skips[0].msg)
			b.skips = b.skips[1:]
		}
		if in.i >= b.n {
			if f.AfterBatch != nil && f.werr == nil && !in.afterDone {
				in.afterDone = true
				if err := f.AfterBatch(); err != nil {
					return nil, nil, err
				}
			}
			if b.last {
				in.finished = true
				if b.err != nil {
					return nil, nil, fmt.Errorf("%s: %w", in.er.Name, b.err)
				}
				return nil, nil, nil
			}
			in.cur = nil
			in.free <- b
			continue
		}
		i := in.i
		line := b.text[in.start:b.ends[i]]
		in.start = b.ends[i]
		in.i++
		if b.bad[i] != "" {
			f.Skipped++
			if f.Warn != nil {
				f.Warn(fmt.Sprintf("%s:%d: %s", in.er.Name, b.lines[i], b.bad[i]))
			}
			continue
		}
		return &b.evs[i], line, nil
	}
}

func newBatch() *batch {
	b := &batch{evs: make([]*event.Event, batchSize), done: make(chan struct{}, 1)}
	for i := range b.evs {
		b.evs[i] = new(event.Event)
	}
	return b
}

// idleDrain bounds how long a live input's events wait for reordering:
// when the scorer has caught up with a pipe or terminal and the buffer was
// last emptied longer ago than this, or the input pauses this long, what
// the buffer holds is scored. Regular files are never drained early, so
// their alerts do not depend on timing.
const idleDrain = 500 * time.Millisecond

// wait returns the next decoded batch.
func (in *input) wait(f *Filter) (*batch, bool) {
	if !in.live {
		b, ok := <-in.order
		return b, ok
	}
	select {
	case b, ok := <-in.order:
		return b, ok
	default:
	}
	if time.Since(f.drained) >= idleDrain {
		f.drainHeld()
	}
	if in.idle == nil {
		in.idle = time.NewTimer(idleDrain)
	} else {
		in.idle.Reset(idleDrain)
	}
	select {
	case b, ok := <-in.order:
		in.idle.Stop()
		return b, ok
	case <-in.idle.C:
		f.drainHeld()
	}
	b, ok := <-in.order
	return b, ok
}

// drainHeld scores every event held for reordering.
func (f *Filter) drainHeld() {
	f.drained = time.Now()
	if f.ro == nil || f.ro.len() == 0 {
		return
	}
	f.ro.drain(f.score)
	if f.Idle != nil {
		f.Idle()
	}
}

// close stops the input's goroutines; after a complete read it counts the
// reader's skipped lines.
func (in *input) close(f *Filter) {
	close(in.stop)
	if in.finished {
		for range in.order { // the reader has stopped; let it close order
		}
		f.Skipped += in.er.Skipped()
	}
}

// Flush ends the input: the events still held for reordering are scored
// and the engine's pending incident updates are written.
func (f *Filter) Flush() error {
	if f.ro != nil {
		f.ro.drain(f.score)
	}
	f.line = nil
	f.Engine.Flush(f.emit)
	return f.werr
}

func (f *Filter) emit(a *event.Event) {
	if a.Severity < f.MinSeverity || f.werr != nil {
		return
	}
	f.Alerts++
	f.buf = AppendAlert(f.buf[:0], f.line, a)
	f.werr = f.Out.WriteLine(f.buf)
}

// AppendAlert appends the alert a raised by the event whose line is line:
// the line's own bytes, with "type" set to "alert" and the alert's fields
// added, so fields nfr-score does not know (a Zeek uid, a community id)
// reach the analyst untouched. Without a line, or with one that is not
// exactly one JSON object (the decoder forgives trailing bytes), it
// encodes a.
func AppendAlert(dst, line []byte, a *event.Event) []byte {
	if len(line) == 0 || !json.Valid(line) {
		return a.AppendJSON(dst)
	}
	var tmp, val []byte
	tmp = event.SetField(tmp, line, "type", []byte(`"alert"`))
	set := func(key string, v []byte) {
		next := event.SetField(nil, tmp, key, v)
		tmp = next
	}
	set("eventType", event.AppendString(val[:0], a.EventType))
	set("severity", strconv.AppendInt(val[:0], int64(a.Severity), 10))
	ids := make([]string, 0, len(a.Threats))
	for id := range a.Threats {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	val = append(val[:0], '{')
	for i, id := range ids {
		t := a.Threats[id]
		if i > 0 {
			val = append(val, ',')
		}
		val = event.AppendString(val, id)
		val = append(val, `:{"title":`...)
		val = event.AppendString(val, t.Title)
		val = append(val, `,"severity":`...)
		val = strconv.AppendInt(val, int64(t.Severity), 10)
		val = append(val, `,"policy":`...)
		val = strconv.AppendBool(val, t.Policy)
		val = append(val, '}')
	}
	set("threats", append(val, '}'))
	if len(a.Flags) > 0 {
		set("flags", appendStrings(val[:0], a.Flags))
	}
	set("reason", event.AppendString(val[:0], a.Reason))
	if a.ID != "" {
		set("id", event.AppendString(val[:0], a.ID))
		set("count", strconv.AppendInt(val[:0], int64(a.Count), 10))
		val = append(val[:0], '"')
		set("firstSeen", append(event.AppendTime(val, a.FirstSeen), '"'))
		val = append(val[:0], '"')
		set("lastSeen", append(event.AppendTime(val, a.LastSeen), '"'))
		set("examples", appendStrings(val[:0], a.Examples))
	}
	return append(dst, tmp...)
}

// appendStrings appends ss as a JSON array.
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, x := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendString(b, x)
	}
	return append(b, ']')
}

// flushReader calls flush before each read of the underlying reader, that
// is whenever the buffered input is used up.
type flushReader struct {
	r     io.Reader
	flush func()
}

func (f *flushReader) Read(p []byte) (int, error) {
	f.flush()
	return f.r.Read(p)
}
