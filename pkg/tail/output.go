package tail

import "github.com/nfr-project/nfr/pkg/event"

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
