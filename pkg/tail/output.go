package tail

import (
	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/event"
)

// Output is where the parsers' events go: the Writer, counting events by
// type and keeping the first write error. (Encoding on a second goroutine
// was tried: on the shared, loaded machine it cost 10-20% more CPU and was
// slower by the clock, so events are encoded where they are parsed.)
type Output struct {
	W      *event.Writer
	ByType map[string]int64

	scratch []byte
	err     error
}

// NewOutput returns an Output over w.
func NewOutput(w *event.Writer) *Output {
	return &Output{W: w, ByType: make(map[string]int64)}
}

// Emit writes (or queues) one event.
func (o *Output) Emit(e *event.Event) error {
	if o.err != nil {
		return o.err
	}
	o.ByType[e.Type]++
	o.scratch, o.err = o.W.WriteEvent(e, o.scratch)
	return o.err
}

// Err returns the first write error.
func (o *Output) Err() error { return o.err }

// Sync writes everything emitted and flushes; state may be saved after it.
func (o *Output) Sync() error { return o.W.Flush() }

// Close writes everything emitted and closes the Writer.
func (o *Output) Close() error { return o.W.Close() }

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
