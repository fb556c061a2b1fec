package score

import (
	"io"

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
	werr error
}

type batch struct {
	evs  []event.Event
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
	f.buf = a.AppendJSON(f.buf[:0])
	f.werr = f.Out.WriteLine(f.buf)
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
