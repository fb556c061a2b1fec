package capture

import "github.com/nfr-project/nfr/pkg/event"

// Emitter encodes the analysers' events on a goroutine of its own.
type Emitter = event.Encoder

// NewEmitter starts an Emitter over w; see event.NewEncoder.
func NewEmitter(w *event.Writer, eachLine bool) *Emitter { return event.NewEncoder(w, eachLine) }
