package scope

import "fmt"

// Explain returns one line saying why nothing came out of a run that read
// events, with the fix, or "" when something was kept or nothing was read.
// A new user whose traffic is all from public addresses would otherwise see
// no output at all.
func (s Stats) Explain(sc *Scope) string {
	if s.Kept() > 0 || s.Passed() > 0 || s.Read-s.Bad == 0 {
		return ""
	}
	n := s.Read - s.Bad
	// The largest reason is the one to explain.
	top := OutOfScope
	for v := OutOfScope; v < numVerdicts; v++ {
		if s.Verdicts[v] > s.Verdicts[top] {
			top = v
		}
	}
	what := fmt.Sprintf("scope %s", sc.Source())
	if sc.Source() == "built-in" {
		what = "the built-in scope, which covers private and special-purpose addresses"
	}
	switch top {
	case OutOfScope:
		return fmt.Sprintf("%d events, none from a source in scope: %s; add your networks to in_scope (see nfr-scope(1))", n, what)
	case NoSource:
		return fmt.Sprintf("%d events, none with a source address to judge by: nfr-scope drops them (see nfr-scope(1))", n)
	default:
		return fmt.Sprintf("%d events, all dropped, most as %s by %s (see nfr-scope(1))", n, top, what)
	}
}
