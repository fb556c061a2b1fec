package tail

import (
	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/event"
)

// Output is where the parsers' events go: an event.Encoder, so parsing and
// JSON encoding run on both cores, over the Writer, counting events by type.
type Output struct {
	W      *event.Writer
	ByType map[string]int64

	enc *event.Encoder
}

// NewOutput returns an Output over w; with eachLine every event is handed
// to the Writer at once (line-buffered output), else in batches.
func NewOutput(w *event.Writer, eachLine bool) *Output {
	return &Output{W: w, ByType: make(map[string]int64), enc: event.NewEncoder(w, eachLine)}
}

// Emit queues one event (a copy: e may be reused) and returns the first
// write error seen so far.
func (o *Output) Emit(e *event.Event) error {
	if err := o.enc.Err(); err != nil {
		return err
	}
	o.ByType[e.Type]++
	o.enc.Emit(e)
	return nil
}

// Err returns the first write error.
func (o *Output) Err() error { return o.enc.Err() }

// Sync writes everything emitted and flushes; state may be saved after it.
func (o *Output) Sync() error {
	o.enc.Flush()
	if err := o.enc.Err(); err != nil {
		return err
	}
	return o.W.Flush()
}

// Close writes everything emitted and closes the Writer.
func (o *Output) Close() error {
	err := o.enc.Close()
	if cerr := o.W.Close(); err == nil {
		err = cerr
	}
	return err
}

// Report wires o's Warn, Info and FileError to ui, the same for every log
// reader: a malformed line is a warning naming the file and line (the first
// few, then a count), or with strict the run's error; a write error on out
// stops the run.
func (o *Options) Report(ui *cli.UI, out *Output, strict bool) {
	o.Warn = func(name string, line int64, err error) error {
		if err := out.Err(); err != nil {
			return err
		}
		if strict {
			return &LineError{Name: name, Line: line, Err: err}
		}
		ui.Warnf("%s:%d: %v", name, line, err)
		return nil
	}
	o.Info = func(msg string) { ui.Infof("%s", msg) }
	o.FileError = func(err error) { ui.Errorf("%v", err) }
}
