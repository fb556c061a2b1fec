package score

import "fmt"

// findings is what the detectors found in one event: threats, each with
// the subject its incident lists and the reason its alert gives, and the
// weaker flags. The engine owns one per event and folds it into
// incidents (raise); detectors only append.
type findings struct {
	hits     []hit
	flags    []string
	disabled map[string]bool
}

type hit struct {
	id      string
	reason  string
	subject string // what suppression is keyed on besides the threat
}

func (f *findings) reset() { f.hits, f.flags = f.hits[:0], f.flags[:0] }

// add records threat id; the first finding of a threat in an event wins,
// since one event opens at most one incident of each.
func (f *findings) add(id, subject, format string, args ...any) {
	if f.disabled[id] {
		return
	}
	for _, h := range f.hits {
		if h.id == id {
			return
		}
	}
	f.hits = append(f.hits, hit{id: id, subject: subject, reason: fmt.Sprintf(format, args...)})
}

// merge adds what another findings value holds, as if found here.
func (f *findings) merge(g *findings) {
next:
	for _, h := range g.hits {
		for _, x := range f.hits {
			if x.id == h.id {
				continue next
			}
		}
		f.hits = append(f.hits, h)
	}
	for _, x := range g.flags {
		f.flag(x)
	}
}

func (f *findings) flag(s string) {
	for _, x := range f.flags {
		if x == s {
			return
		}
	}
	f.flags = append(f.flags, s)
}

// listed returns the threat of a finding that makes a name's addresses
// worth remembering (lookup.go), or "".
func (f *findings) listed() string {
	listed := ""
	for _, h := range f.hits {
		switch h.id {
		case ThreatMining, ThreatC2, ThreatMalware, ThreatSinkhole, ThreatPublicAPI:
			listed = h.id
		}
	}
	return listed
}
