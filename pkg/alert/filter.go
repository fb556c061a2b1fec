package alert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// Filter is nfr-alert's stream loop: alert lines in, queued to every
// output whose route takes them, and passed to Out unchanged. Lines of
// other types pass through and are not delivered.
type Filter struct {
	Outputs []*Output
	Out     *event.Writer // nil: no pass-through
	Sensor  string        // added to alerts that have no "sensor"
	// Warn is called for every bad line, with "FILE:LINE: why".
	Warn func(msg string)

	Lines   int64 // lines read
	Alerts  int64 // alerts queued to at least one output
	Skipped int64 // bad lines

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	a      Alert
	buf    []byte
}

// Start opens every output and starts delivering what their queues hold.
func (f *Filter) Start() error {
	f.ctx, f.cancel = context.WithCancel(context.Background())
	for i, o := range f.Outputs {
		if err := o.Open(); err != nil {
			for _, p := range f.Outputs[:i] {
				p.close()
			}
			return err
		}
	}
	for _, o := range f.Outputs {
		f.wg.Add(1)
		go func() { defer f.wg.Done(); o.deliver(f.ctx) }()
	}
	return nil
}

// flushingReader calls before each time its reader may block, so queued
// alerts reach the disk and the deliverers, and stdout is flushed, before
// the filter waits for more input.
type flushingReader struct {
	r      io.Reader
	before func() error
	err    error
}

func (r *flushingReader) Read(p []byte) (int, error) {
	if err := r.before(); err != nil {
		r.err = err
		return 0, err
	}
	return r.r.Read(p)
}

// Run reads r (named name in messages) to its end.
func (f *Filter) Run(r io.Reader, name string) error {
	fr := &flushingReader{r: r, before: f.flush}
	rd := event.NewReader(fr, name)
	rd.Warn = f.Warn
	for {
		line, err := rd.Next()
		if err != nil {
			f.Skipped += rd.Skipped()
			if errors.Is(err, io.EOF) {
				return f.flush()
			}
			if fr.err != nil {
				return fr.err
			}
			return err
		}
		f.Lines++
		if err := f.take(line, rd); err != nil {
			return err
		}
		if f.Out != nil {
			if err := f.Out.WriteLine(line); err != nil {
				return err
			}
		}
	}
}

func (f *Filter) take(line []byte, rd *event.Reader) error {
	if err := Parse(line, &f.a); err != nil {
		rd.Skip(err.Error())
		return nil
	}
	if f.a.Type != event.TypeAlert {
		return nil
	}
	f.buf = WithSensor(f.buf, line, f.Sensor)
	took := false
	for _, o := range f.Outputs {
		if o.Route.Match(&f.a) {
			if err := o.add(f.buf); err != nil {
				return fmt.Errorf("%s: queue: %w", o.Name, err)
			}
			took = true
		}
	}
	if took {
		f.Alerts++
	}
	return nil
}

func (f *Filter) flush() error {
	for _, o := range f.Outputs {
		if err := o.flush(); err != nil {
			return fmt.Errorf("%s: queue: %w", o.Name, err)
		}
	}
	if f.Out != nil {
		return f.Out.Flush()
	}
	return nil
}

// Reopen reopens file outputs.
func (f *Filter) Reopen() {
	for _, o := range f.Outputs {
		o.Reopen()
	}
}

// Stats returns every output's counters.
func (f *Filter) Stats() []Stats {
	s := make([]Stats, len(f.Outputs))
	for i, o := range f.Outputs {
		s[i] = o.Stats()
	}
	return s
}

// Drain waits up to wait for the queues to empty, then stops delivering
// and closes the outputs. What is still queued stays on disk for the next
// run; it returns how many alerts that is.
func (f *Filter) Drain(wait time.Duration) (queued int64) {
	ctx, cancel := context.WithTimeout(f.ctx, wait)
	for _, o := range f.Outputs {
		o.sp.SealAll()
		o.sp.WaitEmpty(ctx)
	}
	cancel()
	f.cancel()
	for _, o := range f.Outputs {
		o.close()
	}
	f.wg.Wait()
	for _, o := range f.Outputs {
		q, _ := o.sp.Stats()
		queued += q
	}
	return queued
}
