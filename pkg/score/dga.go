package score

import (
	"github.com/nfr-project/nfr/pkg/event"
)

// dga counts, per source over LongWindow (1 h), the distinct registered
// domains whose main label reads as generated (letter-bigram likelihood
// under a model of English words, entropy, digits: see names.go) and those
// answered NXDOMAIN. DGANames generated-looking ones, or NXDomains
// NXDOMAIN ones with an odd-looking last, raise dga.
func (e *Engine) dga(ev *event.Event, q, reg string) {
	s, st := e.dgaOf(q, reg)
	nx := ev.RCode == "NXDOMAIN"
	if s >= 0.6 || nx {
		src := e.sources.get(ev.SrcIP, e.now)
		if roll(&src.Start, e.now, e.th.LongWindow) {
			src.DGA, src.NX = src.DGA[:0], src.NX[:0]
		}
		h := e.hash(reg)
		if s >= 0.6 {
			e.flag("dga_like")
		}
		// A name that resolves counts only when its statistics leave
		// little doubt: ad-tech and CDN names (crwdcntrl.net) look odd too.
		if s >= 0.6 && (st.Digits > 0 || nx || s >= 0.8) {
			src.DGA, _ = addDistinct(src.DGA, h, 64)
			if n := len(src.DGA); n >= e.th.DGANames {
				e.add(ThreatDGA, reg, "%d generated-looking domains from %s in %s, among them %s (bigram log-likelihood %.1f, entropy %.1f, digits %d)",
					n, ev.SrcIP, since(e.now, src.Start), reg, st.LogLik, st.Entropy, st.Digits)
			}
		}
		if nx {
			e.flag("nxdomain")
			src.NX, _ = addDistinct(src.NX, h, 64)
			if n := len(src.NX); n >= e.th.NXDomains && s >= 0.4 {
				e.add(ThreatDGA, reg, "%d distinct domains answered NXDOMAIN for %s in %s, %s among them",
					n, ev.SrcIP, since(e.now, src.Start), reg)
			}
		}
	}
}
