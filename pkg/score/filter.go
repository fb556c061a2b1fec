package score

import (
	"io"
	"sort"
	"strconv"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/intel"
)

// Filter is nfr-score's stream loop: event lines in, alert lines out. One
// goroutine reads and decodes while the caller's goroutine scores and
// writes, so decoding and scoring use a core each.
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
	evs  []event.Event
	ends []int  // where each event's line ends in text
	text []byte // the events' lines, one after the other
	n    int
	last bool  // the reader stopped after this batch
	err  error // why, when not at the end of input
}

const batchSize = 256

// Run scores every event of r (named name in messages) and returns the
// first read or write error.
func (f *Filter) Run(r io.Reader, name string) error {
	full := make(chan *batch, 4)
	free := make(chan *batch, 6)
	for i := 0; i < 6; i++ {
		free <- &batch{evs: make([]event.Event, batchSize)}
	}
	stop := make(chan struct{})
	var cur *batch
	next := func() bool {
		select {
		case cur = <-free:
			cur.n, cur.err, cur.last = 0, nil, false
			cur.text, cur.ends = cur.text[:0], cur.ends[:0]
			return true
		case <-stop:
			return false
		}
	}
	// Before the reader blocks for more input, the events it has are
	// handed on, so a live stream is scored as it comes.
	fr := &flushReader{r: r, flush: func() {
		if cur != nil && cur.n > 0 {
			full <- cur
			if !next() {
				cur = &batch{evs: make([]event.Event, batchSize)}
			}
		}
	}}
	er := event.NewReader(fr, name)
	er.Warn = f.Warn
	go func() {
		defer close(full)
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
				full <- cur
				return
			}
			if err := event.Unmarshal(line, &cur.evs[cur.n]); err != nil {
				er.Skip(err.Error())
				continue
			}
			cur.text = append(cur.text, line...)
			cur.ends = append(cur.ends, len(cur.text))
			cur.n++
			if cur.n == batchSize {
				full <- cur
				if !next() {
					return
				}
			}
		}
	}()
	finished := false
	defer func() {
		close(stop)
		if finished {
			for range full { // the reader has stopped; let it close full
			}
			f.Skipped += er.Skipped()
		}
	}()
	for b := range full {
		for i := 0; i < b.n; i++ {
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
			start := 0
			if i > 0 {
				start = b.ends[i-1]
			}
			f.line = b.text[start:b.ends[i]]
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
// reach the analyst untouched. Without a line it encodes a.
func AppendAlert(dst, line []byte, a *event.Event) []byte {
	if len(line) == 0 {
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
		val = append(val[:0], '[')
		for i, fl := range a.Flags {
			if i > 0 {
				val = append(val, ',')
			}
			val = event.AppendString(val, fl)
		}
		set("flags", append(val, ']'))
	}
	set("reason", event.AppendString(val[:0], a.Reason))
	return append(dst, tmp...)
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
