package score

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"

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

	Lines   int64 // event lines read
	Skipped int64 // bad lines
	Alerts  int64 // alerts written

	buf  []byte
	line []byte // of the event being scored
	werr error
}

type batch struct {
	evs   []event.Event
	ends  []int    // where each event's line ends in text
	text  []byte   // the events' lines, one after the other
	lines []int64  // their line numbers
	bad   []string // why a line could not be decoded, or ""
	n     int
	last  bool          // the reader stopped after this batch
	err   error         // why, when not at the end of input
	done  chan struct{} // a decoder finished the batch
}

const (
	batchSize = 256
	batches   = 8
)

// Run scores every event of r (named name in messages) and returns the
// first read or write error. One goroutine reads lines, decoders turn them
// into events in parallel, and the caller's goroutine scores them in input
// order and writes the alerts.
func (f *Filter) Run(r io.Reader, name string) error {
	free := make(chan *batch, batches)
	order := make(chan *batch, batches) // to the scorer, in input order
	jobs := make(chan *batch, batches)  // to the decoders
	for i := 0; i < batches; i++ {
		free <- &batch{evs: make([]event.Event, batchSize), done: make(chan struct{}, 1)}
	}
	stop := make(chan struct{})
	var cur *batch
	next := func() bool {
		select {
		case cur = <-free:
			cur.n, cur.err, cur.last = 0, nil, false
			cur.text, cur.ends, cur.lines = cur.text[:0], cur.ends[:0], cur.lines[:0]
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
				cur = &batch{evs: make([]event.Event, batchSize), done: make(chan struct{}, 1)}
			}
		}
	}}
	er := event.NewReader(fr, name)
	er.Warn = f.Warn
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
					if err := event.Unmarshal(b.text[start:b.ends[i]], &b.evs[i]); err != nil {
						reason = err.Error()
					}
					b.bad = append(b.bad, reason)
					start = b.ends[i]
				}
				b.done <- struct{}{}
			}
		}()
	}
	finished := false
	defer func() {
		close(stop)
		if finished {
			for range order { // the reader has stopped; let it close order
			}
			f.Skipped += er.Skipped()
		}
	}()
	for b := range order {
		<-b.done
		start := 0
		for i := 0; i < b.n; i++ {
			f.line = b.text[start:b.ends[i]]
			start = b.ends[i]
			if b.bad[i] != "" {
				f.Skipped++
				if f.Warn != nil {
					f.Warn(fmt.Sprintf("%s:%d: %s", er.Name, b.lines[i], b.bad[i]))
				}
				continue
			}
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
			f.Lines++
			// Incident updates the clock releases are not about this
			// line: they are written from their own fields.
			line := f.line
			f.line = nil
			f.Engine.Advance(b.evs[i].TS, f.emit)
			f.line = line
			f.Engine.Process(&b.evs[i], f.emit)
		}
		finished = b.last
		if b.last || f.werr != nil {
			if f.werr != nil {
				return f.werr
			}
			return b.err
		}
		free <- b
	}
	return f.werr
}

// Flush ends the input: the engine's pending incident updates are written.
func (f *Filter) Flush() error {
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
