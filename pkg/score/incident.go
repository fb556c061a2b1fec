package score

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// An incident folds the repeated findings of one threat from one source.
// Its first finding is emitted at once as an alert with count 1; later
// findings less than the suppression window (Config.Suppress) after the
// one before are counted and their subjects listed (up to maxExamples).
// The incident is emitted again, as an update with the same id and the
// new count, at most once per suppression window while findings keep
// coming, when it closes (a window without findings), and at Flush. A
// finding after it closed opens a new incident with a new id.
type incident struct {
	ID          string
	First, Last time.Time
	Count       int
	Emitted     int       // Count when the incident was last emitted
	EmittedAt   time.Time // event time of that emission
	Examples    []string
	// Latest is the alert of the latest finding, kept for the update.
	Latest *event.Event
}

const maxExamples = 10

// incidentKey identifies the incident of threat id from src.
func incidentKey(id string, src [16]byte) uint64 {
	return fnv(fnv(fnvOffset, id), string(src[:]))
}

// incidentID is the stable id of an incident: the same events give the
// same ids on every run, and an update carries the id of its first alert.
func incidentID(id string, src [16]byte, first time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(first.UnixNano()))
	h := fnv(incidentKey(id, src), string(b[:]))
	return hex.EncodeToString(binary.BigEndian.AppendUint64(nil, h))
}

// fold records a finding of h for ev's source and reports whether it
// opened a new incident (to be emitted now) and the incident.
func (e *Engine) fold(h hit, ev *event.Event) (*incident, bool) {
	src := ev.SrcIP.As16()
	k := incidentKey(h.id, src)
	in := e.incidents.get(k, e.now)
	if in.ID != "" && e.now.Sub(in.Last) < e.cfg.Suppress && !e.now.Before(in.First) {
		in.Count++
		if e.now.After(in.Last) {
			in.Last = e.now
		}
		in.addExample(h.subject)
		return in, false
	}
	if in.ID != "" && in.Count > in.Emitted {
		// The old incident's window is over and it was not swept yet.
		e.pending = append(e.pending, in.update(e.now))
	}
	*in = incident{ID: incidentID(h.id, src, e.now), First: e.now, Last: e.now, Count: 1, Emitted: 1, EmittedAt: e.now}
	in.addExample(h.subject)
	return in, true
}

func (in *incident) addExample(s string) {
	if s == "" || len(in.Examples) >= maxExamples {
		return
	}
	for _, x := range in.Examples {
		if x == s {
			return
		}
	}
	in.Examples = append(in.Examples, s)
}

// stamp copies the incident's fields into its alert a.
func (in *incident) stamp(a *event.Event) {
	a.ID, a.Count, a.FirstSeen, a.LastSeen = in.ID, in.Count, in.First, in.Last
	a.Examples = append([]string(nil), in.Examples...)
}

// update returns the incident's update alert and marks it emitted at now.
func (in *incident) update(now time.Time) *event.Event {
	in.Emitted, in.EmittedAt = in.Count, now
	a := *in.Latest
	a.Reason = fmt.Sprintf("%s (%d findings since %s)", in.Latest.Reason, in.Count, in.First.UTC().Format(time.RFC3339))
	in.stamp(&a)
	return &a
}

// closeIncidents emits the updates of incidents with new findings that
// closed (no finding for a window) or were last emitted a window before
// now; all of them when now is zero, at Flush. Oldest first, so output
// does not depend on map order.
func (e *Engine) closeIncidents(now time.Time, emit func(*event.Event)) {
	var out []*event.Event
	out = append(out, e.pending...)
	e.pending = e.pending[:0]
	for _, s := range e.incidents.m {
		in := &s.v
		if in.Count <= in.Emitted || in.Latest == nil {
			continue
		}
		if now.IsZero() || now.Sub(in.Last) >= e.cfg.Suppress || now.Sub(in.EmittedAt) >= e.cfg.Suppress {
			out = append(out, in.update(e.now))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].FirstSeen.Equal(out[j].FirstSeen) {
			return out[i].FirstSeen.Before(out[j].FirstSeen)
		}
		return out[i].ID < out[j].ID
	})
	for _, a := range out {
		e.stats.Updates++
		emit(a)
	}
}
