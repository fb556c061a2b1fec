package config

import (
	"fmt"
	"net/netip"
	"time"
)

// ScoreAllow is one score.allow rule: findings that match every field
// given are not raised. Comment is required, so each rule says why.
type ScoreAllow struct {
	Threat  string   `yaml:"threat"`  // threat id; empty: every threat
	Src     []string `yaml:"src"`     // source CIDRs or addresses
	Dst     []string `yaml:"dst"`     // destination CIDRs or addresses
	Domain  string   `yaml:"domain"`  // a name, or *.name for it and everything under it
	JA4     string   `yaml:"ja4"`     // the event's JA4
	Comment string   `yaml:"comment"` // why (required)
	Expires string   `yaml:"expires"` // YYYY-MM-DD: the rule ends at the start of that day, UTC
}

// ExpiresAt returns when the rule ends, zero for never.
func (a *ScoreAllow) ExpiresAt() time.Time {
	t, _ := time.Parse(time.DateOnly, a.Expires)
	return t
}

func (s *Score) validateAllow() error {
	for i := range s.Allow {
		a := &s.Allow[i]
		where := fmt.Sprintf("score.allow[%d]", i)
		if a.Comment == "" {
			return fmt.Errorf("%s: comment is required: say why the rule exists", where)
		}
		if a.Threat != "" && !threatID.MatchString(a.Threat) {
			return fmt.Errorf("%s: %q is not a threat id", where, a.Threat)
		}
		for _, l := range [][]string{a.Src, a.Dst} {
			for _, c := range l {
				if _, err := ParsePrefixOrAddr(c); err != nil {
					return fmt.Errorf("%s: %q is not an address or CIDR block", where, c)
				}
			}
		}
		if a.Expires != "" {
			if _, err := time.Parse(time.DateOnly, a.Expires); err != nil {
				return fmt.Errorf("%s: expires %q is not a date (YYYY-MM-DD)", where, a.Expires)
			}
		}
		if a.Threat == "" && len(a.Src) == 0 && len(a.Dst) == 0 && a.Domain == "" && a.JA4 == "" {
			return fmt.Errorf("%s: a rule needs at least one of threat, src, dst, domain, ja4", where)
		}
	}
	return nil
}

// ParsePrefixOrAddr parses a CIDR block or a single address (as a /32 or
// /128).
func ParsePrefixOrAddr(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}
