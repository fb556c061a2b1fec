package score

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/event"
)

// Rule is one score.allow rule of config.yml: a finding that matches every
// field given is not raised. The built-in allowlists (lists/infra-allow.txt)
// work inside the detectors; rules are the site's own, applied last.
type Rule struct {
	Threat  string
	Src     []netip.Prefix
	Dst     []netip.Prefix
	Domain  string // a name, or *.name for it and everything under it
	JA4     string
	Comment string
	Expires time.Time // zero: never
}

// rulesFrom turns config.yml's score.allow into rules.
func rulesFrom(as []config.ScoreAllow) ([]Rule, error) {
	var rs []Rule
	for i, a := range as {
		if a.Threat != "" {
			if _, ok := Lookup(a.Threat); !ok {
				return nil, fmt.Errorf("score.allow[%d]: unknown threat %q (see nfr-score --list-threats)", i, a.Threat)
			}
		}
		r := Rule{Threat: a.Threat, Domain: strings.ToLower(strings.TrimSuffix(a.Domain, ".")), JA4: a.JA4, Comment: a.Comment, Expires: a.ExpiresAt()}
		for _, l := range []struct {
			in  []string
			out *[]netip.Prefix
		}{{a.Src, &r.Src}, {a.Dst, &r.Dst}} {
			for _, c := range l.in {
				p, err := config.ParsePrefixOrAddr(c)
				if err != nil {
					return nil, fmt.Errorf("score.allow[%d]: %q is not an address or CIDR block", i, c)
				}
				*l.out = append(*l.out, p)
			}
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// domainMatch reports whether name is the rule's domain (or under it for
// *.domain).
func domainMatch(pattern, name string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		return name == rest || strings.HasSuffix(name, "."+rest)
	}
	return name == pattern
}

// matches reports whether rule r allows finding h of ev at now.
func (r *Rule) matches(h hit, ev *event.Event, now time.Time) bool {
	if !r.Expires.IsZero() && !now.Before(r.Expires) {
		return false
	}
	if r.Threat != "" && r.Threat != h.id {
		return false
	}
	if len(r.Src) > 0 && !inPrefixes(r.Src, ev.SrcIP) {
		return false
	}
	if len(r.Dst) > 0 && !(ev.DestIP.IsValid() && inPrefixes(r.Dst, ev.DestIP)) {
		return false
	}
	if r.JA4 != "" && r.JA4 != ev.JA4 {
		return false
	}
	if r.Domain != "" {
		ok := false
		for _, n := range [...]string{ev.Query, ev.SNI, hostOnly(ev.Host), h.subject} {
			if domainMatch(r.Domain, n) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// allowedBy returns the index of the first rule that allows h, or -1.
func (e *Engine) allowedBy(h hit, ev *event.Event) int {
	for i := range e.rules {
		if e.rules[i].matches(h, ev, e.now) {
			return i
		}
	}
	return -1
}

// explain tells the Explain callback, if any, what became of a finding.
func (e *Engine) explain(ev *event.Event, h hit, decision string) {
	if e.Explain != nil {
		e.Explain(ev, h.id, decision, h.reason)
	}
}

// Subject says briefly what an event is about, for people: source, and
// the query, server name, host or destination.
func Subject(ev *event.Event) string {
	what := ev.Query
	if what == "" {
		what = ev.SNI
	}
	if what == "" {
		what = hostOnly(ev.Host)
	}
	if what == "" && ev.DestIP.IsValid() {
		what = netip.AddrPortFrom(ev.DestIP, ev.DestPort).String()
	}
	return fmt.Sprintf("%s -> %s", ev.SrcIP, what)
}
