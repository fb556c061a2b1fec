package alert

import (
	"bytes"
	"context"
	"encoding/json"
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
	route  bool // some output has a route
	addMu  sync.Mutex
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
		if !o.Route.Empty() {
			f.route = true
		}
	}
	f.wg.Add(1)
	go func() { defer f.wg.Done(); f.seal(f.ctx) }()
	return nil
}

// sealAge is how long an alert may wait in an open queue segment before
// it is handed to the deliverer: batches of many alerts at speed (one
// fsync each), little delay for a lone one.
const sealAge = 20 * time.Millisecond

func (f *Filter) seal(ctx context.Context) {
	t := time.NewTicker(sealAge / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, o := range f.Outputs {
				if err := o.sp.SealOlder(sealAge); err != nil && !o.sp.Stuck() {
					o.Warn(fmt.Sprintf("%s: queue: %v", o.Name, err))
				}
			}
		}
	}
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
				return f.settle()
			}
			if fr.err != nil {
				return fr.err
			}
			return err
		}
		if err := f.pass(line, rd.Skip); err != nil {
			return err
		}
	}
}

// settle writes what is queued to disk and closes the queues' open
// segments into batches for the deliverers: what Run does at the end of
// its input and Accept after each batch.
func (f *Filter) settle() error {
	if err := f.flush(); err != nil {
		return err
	}
	for _, o := range f.Outputs {
		if err := o.sp.SealAll(); err != nil {
			return fmt.Errorf("%s: queue: %w", o.Name, err)
		}
	}
	return nil
}

// skipper counts and reports the bad lines of a source that is not read
// through an event.Reader (Add, Accept).
func (f *Filter) skipper(name string) func(reason string) {
	return func(reason string) {
		f.Skipped++
		if f.Warn != nil {
			f.Warn(name + ": " + reason)
		}
	}
}

// pass queues one line read and passes it through to Out.
func (f *Filter) pass(line []byte, skip func(reason string)) error {
	f.Lines++
	if err := f.take(line, skip); err != nil {
		return err
	}
	if f.Out != nil {
		return f.Out.WriteLine(line)
	}
	return nil
}

func (f *Filter) take(line []byte, skip func(reason string)) error {
	if !f.route {
		// No output routes: decoding the alert here would be wasted; the
		// deliverers decode it anyway, and report what does not decode.
		if !isAlert(line) {
			return nil
		}
	} else if err := Parse(line, &f.a); err != nil {
		skip(err.Error())
		return nil
	} else if f.a.Type != event.TypeAlert {
		return nil
	}
	f.buf = WithSensor(f.buf, line, f.Sensor)
	took := false
	for _, o := range f.Outputs {
		if !f.route || o.Route.Match(&f.a) {
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

// isAlert reports whether line's top-level type is alert.
func isAlert(line []byte) bool {
	if bytes.HasPrefix(line, []byte(`{"type":"alert"`)) {
		return true
	}
	var t struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(line, &t) == nil && t.Type == event.TypeAlert
}

// flush writes what was read to the queues, so it survives a kill, and
// flushes stdout; the sealer hands it to the deliverers.
func (f *Filter) flush() error {
	for _, o := range f.Outputs {
		if err := o.sp.Flush(); err != nil {
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

// Add queues one alert line to the outputs whose route takes it and
// writes it to disk at once, for a program that makes alerts itself
// (nfr-engine) rather than reading a stream. Safe for concurrent use.
func (f *Filter) Add(line []byte) error {
	f.addMu.Lock()
	defer f.addMu.Unlock()
	if err := f.take(line, f.skipper("alert")); err != nil {
		return err
	}
	for _, o := range f.Outputs {
		if err := o.sp.Flush(); err != nil {
			return fmt.Errorf("%s: queue: %w", o.Name, err)
		}
	}
	return nil
}

// Accept queues a batch of alert lines for a source that forgets them
// once they are safe (the Kafka alerts topic commits its offsets): when it
// returns nil, every line is in the queues on disk, closed into batches
// and fsynced unless alerts.fsync is never, so a killed or crashed
// nfr-alert delivers them on its next run. Lines pass through to Out.
func (f *Filter) Accept(lines [][]byte, name string) error {
	f.addMu.Lock()
	defer f.addMu.Unlock()
	skip := f.skipper(name)
	for _, line := range lines {
		if err := f.pass(line, skip); err != nil {
			return err
		}
	}
	return f.settle()
}

// WriteMetrics writes every output's counters in the Prometheus text
// format.
func (f *Filter) WriteMetrics(w io.Writer) {
	stats := f.Stats()
	for _, m := range []struct {
		name, typ, help string
		v               func(Stats) int64
	}{
		{"nfr_alert_delivered_total", "counter", "Alerts an output's receiver took.", func(s Stats) int64 { return s.Delivered }},
		{"nfr_alert_failed_total", "counter", "Alerts an output's receiver refused for good (kept in rejected.log).", func(s Stats) int64 { return s.Failed }},
		{"nfr_alert_retries_total", "counter", "Failed deliveries that were retried.", func(s Stats) int64 { return s.Retries }},
		{"nfr_alert_queued", "gauge", "Alerts in an output's queue on disk.", func(s Stats) int64 { return s.Queued }},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.typ)
		for _, s := range stats {
			fmt.Fprintf(w, "%s{output=%q} %d\n", m.name, s.Name, m.v(s))
		}
	}
}
