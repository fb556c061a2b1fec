package scope

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"strings"
)

// domains matches names against patterns: "example.com" matches only
// itself, "*.example.com" matches example.com and every name below it.
// One map holds every pattern and every label suffix of a pattern (com,
// example.com, ...). A name is looked up from its last label leftwards and
// the walk stops at the first suffix no pattern ends with, so a name under
// no pattern usually costs two lookups whatever the number of patterns.
// A Bloom filter small enough to stay in cache answers most of the lookups
// that would miss, so the big map is rarely touched for untrusted names.
type domains struct {
	m     map[string]suffix
	seed  maphash.Seed
	bloom []uint64 // two bits per key in one word; length a power of two
}

type suffix struct {
	exact, wild groupSet // groups with this exact name, or "*." this name
	longer      bool     // some pattern is longer and ends with this suffix
}

// newDomains sizes the map and the filter for about n patterns.
func newDomains(n int) domains {
	words := 64 // 16 bits per key (and per suffix), at least 512 bytes
	for words*64 < 16*n*2 {
		words *= 2
	}
	return domains{m: make(map[string]suffix, n+n/4), seed: maphash.MakeSeed(), bloom: make([]uint64, words)}
}

// bloomBits picks a word and two bits in it: one memory access per test.
func (d *domains) bloomBits(h uint64) (w, bits uint64) {
	w = (h >> 12) & uint64(len(d.bloom)-1)
	return w, 1<<(h&63) | 1<<((h>>6)&63)
}

func (d *domains) set(key string) {
	w, b := d.bloomBits(maphash.String(d.seed, key))
	d.bloom[w] |= b
}

func (d *domains) mayHave(key []byte) bool {
	w, b := d.bloomBits(maphash.Bytes(d.seed, key))
	return d.bloom[w]&b == b
}

func (d *domains) add(p pattern, g groupSet) {
	name := p.name
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			e := d.m[name[i+1:]]
			e.longer = true
			d.m[name[i+1:]] = e
			d.set(name[i+1:])
		}
	}
	e := d.m[name]
	if p.wild {
		e.wild |= g
	} else {
		e.exact |= g
	}
	d.m[name] = e
	d.set(name)
}

// match returns the groups with a pattern matching name, which must be
// normalised (see normName).
func (d *domains) match(name []byte) groupSet {
	var m groupSet
	i := len(name)
	for i > 0 {
		i = bytes.LastIndexByte(name[:i], '.')
		if !d.mayHave(name[i+1:]) {
			return m
		}
		e, ok := d.m[string(name[i+1:])]
		if !ok {
			return m
		}
		m |= e.wild
		if i < 0 {
			return m | e.exact
		}
		if !e.longer {
			return m
		}
	}
	return m
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
