package capture

import (
	"github.com/nfr-project/nfr/pkg/communityid"
	"github.com/nfr-project/nfr/pkg/event"
)

// Emitter encodes the analysers' events on a goroutine of its own.
type Emitter = event.Encoder

// NewEmitter starts an Emitter over w; see event.NewEncoder. It computes
// the communityId of events that have none on its goroutine, for
// analysers made with Options.DeferCommunityID.
func NewEmitter(w *event.Writer, eachLine bool) *Emitter {
	em := event.NewEncoder(w, eachLine)
	var st communityid.Stamper // used by the encoding goroutine alone
	em.Prepare = st.Stamp
	return em
}
