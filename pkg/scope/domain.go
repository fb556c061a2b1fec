package scope

import (
	"bytes"
	"fmt"
	"strings"
)

// domains matches names against patterns: "example.com" matches only
// itself, "*.example.com" matches example.com and every name below it.
// Wildcards are found by looking up the name's label suffixes in a map, so
// the cost depends on the name's length, not on how many patterns there are.
type domains struct {
	exact map[string]groupSet
	wild  map[string]groupSet // keyed without the "*."
	// wildLabels is the most labels of any wildcard suffix: shorter
	// suffixes of a long name are the only ones worth looking up.
	wildLabels int
}

func newDomains() domains {
	return domains{exact: map[string]groupSet{}, wild: map[string]groupSet{}}
}

func (d *domains) add(p pattern, g groupSet) {
	if p.wild {
		d.wild[p.name] |= g
		if n := strings.Count(p.name, ".") + 1; n > d.wildLabels {
			d.wildLabels = n
		}
		return
	}
	d.exact[p.name] |= g
}

// match returns the groups with a pattern matching name, which must be
// normalised (see normName).
func (d *domains) match(name []byte) groupSet {
	if len(name) == 0 {
		return 0
	}
	m := d.exact[string(name)]
	if d.wildLabels == 0 {
		return m
	}
	// Start at the longest suffix with at most wildLabels labels.
	start, labels := 0, 0
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			labels++
			if labels == d.wildLabels {
				start = i + 1
				break
			}
		}
	}
	s := name[start:]
	for {
		m |= d.wild[string(s)]
		i := bytes.IndexByte(s, '.')
		if i < 0 {
			return m
		}
		s = s[i+1:]
	}
}

// normName lower-cases name and removes trailing dots, writing into buf
// when it has to change anything.
func normName(buf, name []byte) []byte {
	for len(name) > 0 && name[len(name)-1] == '.' {
		name = name[:len(name)-1]
	}
	for i, c := range name {
		if c >= 'A' && c <= 'Z' {
			buf = append(buf[:0], name...)
			for j := i; j < len(buf); j++ {
				if c := buf[j]; c >= 'A' && c <= 'Z' {
					buf[j] = c + 'a' - 'A'
				}
			}
			return buf
		}
	}
	return name
}

// pattern is a parsed domain pattern.
type pattern struct {
	name string // lower case, no trailing dot, without "*."
	wild bool
}

func (p pattern) String() string {
	if p.wild {
		return "*." + p.name
	}
	return p.name
}

// parsePattern accepts "example.com", "*.example.com" and ".example.com"
// (the same as "*.example.com"), in any case, with or without a trailing dot.
func parsePattern(s string) (pattern, error) {
	orig := s
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimRight(s, ".")
	var p pattern
	switch {
	case strings.HasPrefix(s, "*."):
		p.wild, s = true, s[2:]
	case strings.HasPrefix(s, "."):
		p.wild, s = true, s[1:]
	}
	if s == "" || s == "*" {
		return p, fmt.Errorf("bad domain %q: empty name (write *.example.com for a domain and its subdomains)", orig)
	}
	if len(s) > 253 {
		return p, fmt.Errorf("bad domain %q: longer than 253 characters", orig)
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return p, fmt.Errorf("bad domain %q: empty label", orig)
		}
		if len(label) > 63 {
			return p, fmt.Errorf("bad domain %q: label longer than 63 characters", orig)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			case c == '*':
				return p, fmt.Errorf("bad domain %q: a wildcard is only allowed as the first label, as in *.example.com", orig)
			case c >= 0x80:
				return p, fmt.Errorf("bad domain %q: write internationalised names in their xn-- (punycode) form", orig)
			default:
				return p, fmt.Errorf("bad domain %q: character %q not allowed", orig, c)
			}
		}
	}
	p.name = s
	return p, nil
}
