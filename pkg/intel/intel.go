// Package intel holds threat-intelligence indicators (domains, IP addresses,
// CIDR blocks, URLs, JA3 and JA4 fingerprints) and matches events against
// them in constant time: hash maps for exact values and one map per prefix
// length for CIDR blocks. Indicators come from the lists built into the binary (see
// Builtin) and from user feeds in the formats people have (see Load).
//
// Every indicator carries a tag: the threat it implies (a threat id of
// nfr-score's catalog, or a flag name) and the list it came from, so an
// alert can say "1.2.3.4 is on feed feodo".
package intel

import (
	"hash/maphash"
	"net/netip"
	"sort"
	"strings"
)

// Tag says what an indicator means and where it came from.
type Tag struct {
	Threat string // threat id or flag name
	Source string // list or feed name
}

// tagRef is an index into Set.tags; a chain links several tags of one
// indicator (rare: an indicator on two lists).
type tagRef uint32

type tagEntry struct {
	Tag
	next tagRef // 0 ends the chain; entry 0 is unused
}

// Set is a set of indicators. The zero value is not usable; call NewSet.
// A Set is not safe for concurrent writes; reads may be concurrent once it
// is built.
type Set struct {
	tags []tagEntry
	base map[Tag]tagRef
	// Keys are 64-bit hashes and 16-byte addresses, not strings or
	// netip.Addr: maps without pointers, which the garbage collector does
	// not scan, however many millions of indicators they hold.
	seed    maphash.Seed
	domains map[uint64]tagRef
	ips     map[[16]byte]tagRef
	ports   map[netip.AddrPort]tagRef
	urls    map[uint64]tagRef
	ja3     map[uint64]tagRef
	ja4     map[uint64]tagRef
	// CIDR blocks, one map per prefix length (IPv4 lengths + 96), so a
	// lookup costs one hash per length in use, longest first.
	prefixes map[int]map[[16]byte]tagRef
	lengths  []int
	cidrs    int
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{
		tags:     make([]tagEntry, 1),
		base:     map[Tag]tagRef{},
		seed:     maphash.MakeSeed(),
		domains:  map[uint64]tagRef{},
		ips:      map[[16]byte]tagRef{},
		ports:    map[netip.AddrPort]tagRef{},
		urls:     map[uint64]tagRef{},
		ja3:      map[uint64]tagRef{},
		ja4:      map[uint64]tagRef{},
		prefixes: map[int]map[[16]byte]tagRef{},
	}
}

// Len returns the number of indicators.
func (s *Set) Len() int {
	return len(s.domains) + len(s.ips) + len(s.ports) + len(s.urls) + len(s.ja3) + len(s.ja4) + s.cidrs
}

func (s *Set) baseTag(t Tag) tagRef {
	if r, ok := s.base[t]; ok {
		return r
	}
	s.tags = append(s.tags, tagEntry{Tag: t})
	r := tagRef(len(s.tags) - 1)
	s.base[t] = r
	return r
}

// merge returns the tag chain old extended by t, sharing entries when old is
// already t.
func (s *Set) merge(old tagRef, t Tag) tagRef {
	if old == 0 {
		return s.baseTag(t)
	}
	for r := old; r != 0; r = s.tags[r].next {
		if s.tags[r].Tag == t {
			return old
		}
	}
	s.tags = append(s.tags, tagEntry{Tag: t, next: old})
	return tagRef(len(s.tags) - 1)
}

func (s *Set) each(r tagRef, fn func(Tag)) bool {
	if r == 0 {
		return false
	}
	for ; r != 0; r = s.tags[r].next {
		fn(s.tags[r].Tag)
	}
	return true
}

// AddDomain adds a domain; it matches the name and every name under it.
func (s *Set) AddDomain(d string, t Tag) {
	d = NormalizeDomain(d)
	if d == "" {
		return
	}
	k := s.key(d)
	s.domains[k] = s.merge(s.domains[k], t)
}

// AddIP adds one address.
func (s *Set) AddIP(a netip.Addr, t Tag) {
	k := a.Unmap().As16()
	s.ips[k] = s.merge(s.ips[k], t)
}

// AddAddrPort adds an address that matches only on that port.
func (s *Set) AddAddrPort(ap netip.AddrPort, t Tag) {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	s.ports[ap] = s.merge(s.ports[ap], t)
}

// AddPrefix adds a CIDR block; a single-address block is stored as an IP.
func (s *Set) AddPrefix(p netip.Prefix, t Tag) {
	a, bits := p.Addr(), p.Bits()
	if a.Is4In6() {
		a, bits = a.Unmap(), bits-96
	}
	if bits < 0 {
		return
	}
	p = netip.PrefixFrom(a, bits).Masked()
	if !p.IsValid() {
		return
	}
	if p.IsSingleIP() {
		s.AddIP(p.Addr(), t)
		return
	}
	bits = p.Bits()
	if p.Addr().Is4() {
		bits += 96 // one table for both families, indexed by IPv6 prefix length
	}
	m := s.prefixes[bits]
	if m == nil {
		m = map[[16]byte]tagRef{}
		s.prefixes[bits] = m
		s.lengths = append(s.lengths, bits)
		sort.Sort(sort.Reverse(sort.IntSlice(s.lengths)))
	}
	pk := p.Addr().As16()
	if _, ok := m[pk]; !ok {
		s.cidrs++
	}
	m[pk] = s.merge(m[pk], t)
}

// AddURL adds a URL; it matches requests for the same host and path (and
// query, when the indicator has one).
func (s *Set) AddURL(u string, t Tag) {
	k := NormalizeURL(u)
	if k == "" {
		return
	}
	h := s.key(k)
	s.urls[h] = s.merge(s.urls[h], t)
}

// AddJA3 adds a JA3 or JA3S MD5 hash.
func (s *Set) AddJA3(h string, t Tag) {
	h = strings.ToLower(h)
	k := s.key(h)
	s.ja3[k] = s.merge(s.ja3[k], t)
}

// AddJA4 adds a JA4 fingerprint.
func (s *Set) AddJA4(h string, t Tag) {
	h = strings.ToLower(h)
	k := s.key(h)
	s.ja4[k] = s.merge(s.ja4[k], t)
}

// MatchDomain calls fn for every tag of name and of each domain above it
// (a.b.example.com matches example.com and com); matched is the indicator.
// It reports whether anything matched. It allocates nothing.
func (s *Set) MatchDomain(name string, fn func(matched string, t Tag)) bool {
	var buf [8]Match
	ms := s.AppendDomain(buf[:0], name)
	for _, m := range ms {
		fn(m.Indicator, m.Tag)
	}
	return len(ms) > 0
}

// HasDomain reports whether name or a domain above it is listed with threat.
func (s *Set) HasDomain(name, threat string) (matched string, ok bool) {
	var buf [8]Match
	for _, m := range s.AppendDomain(buf[:0], name) {
		if m.Threat == threat {
			return m.Indicator, true
		}
	}
	return "", false
}

// MatchIP calls fn for every tag of a, exact or by CIDR block; matched is
// the indicator as text. It reports whether anything matched.
func (s *Set) MatchIP(a netip.Addr, fn func(matched string, t Tag)) bool {
	var buf [8]Match
	ms := s.AppendIP(buf[:0], a)
	for _, m := range ms {
		fn(m.Indicator, m.Tag)
	}
	return len(ms) > 0
}

// MatchAddrPort calls fn for every tag of the address on that port.
func (s *Set) MatchAddrPort(ap netip.AddrPort, fn func(matched string, t Tag)) bool {
	if len(s.ports) == 0 {
		return false
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	r, ok := s.ports[ap]
	if ok {
		s.each(r, func(t Tag) { fn(ap.String(), t) })
	}
	return ok
}

// MatchURL calls fn for the tags of an HTTP request's host and URL (path
// and query), trying the URL with and without its query.
func (s *Set) MatchURL(host, url string, fn func(matched string, t Tag)) bool {
	if len(s.urls) == 0 || host == "" {
		return false
	}
	k := NormalizeURL(host + url)
	hit := false
	if r, ok := s.urls[s.key(k)]; ok {
		s.each(r, func(t Tag) { fn(k, t) })
		hit = true
	}
	if i := strings.IndexByte(k, '?'); i > 0 {
		if r, ok := s.urls[s.key(k[:i])]; ok {
			s.each(r, func(t Tag) { fn(k[:i], t) })
			hit = true
		}
	}
	return hit
}

// MatchJA3 calls fn for the tags of a JA3 or JA3S hash.
func (s *Set) MatchJA3(h string, fn func(matched string, t Tag)) bool {
	r, ok := s.ja3[s.key(h)]
	if ok {
		s.each(r, func(t Tag) { fn(h, t) })
	}
	return ok
}

// MatchJA4 calls fn for the tags of a JA4 fingerprint.
func (s *Set) MatchJA4(h string, fn func(matched string, t Tag)) bool {
	r, ok := s.ja4[s.key(h)]
	if ok {
		s.each(r, func(t Tag) { fn(h, t) })
	}
	return ok
}

// NormalizeDomain lower-cases d and strips a trailing dot and a leading
// "*." or "." ; it returns "" for something that is not a host name.
func NormalizeDomain(d string) string {
	d = strings.TrimSpace(d)
	d = strings.TrimSuffix(d, ".")
	d = strings.TrimPrefix(d, "*.")
	d = strings.TrimPrefix(d, ".")
	if d == "" || len(d) > 253 {
		return ""
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		case c >= 'A' && c <= 'Z':
			return NormalizeDomain(strings.ToLower(d))
		default:
			return ""
		}
	}
	return d
}

// NormalizeURL reduces a URL to host+path[?query] with the scheme, port 80,
// user info and fragment removed and the host lower-cased, so feed entries
// and HTTP events compare equal.
func NormalizeURL(u string) string {
	u = strings.TrimSpace(u)
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	host, path := u, "/"
	if i := strings.IndexByte(u, '/'); i >= 0 {
		host, path = u[:i], u[i:]
	}
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	host = strings.TrimSuffix(strings.ToLower(host), ":80")
	if host == "" {
		return ""
	}
	return host + path
}

// Match is one indicator that matched and its tag.
type Match struct {
	Indicator string
	Tag
}

func (s *Set) appendTags(dst []Match, r tagRef, ind string) []Match {
	for ; r != 0; r = s.tags[r].next {
		dst = append(dst, Match{Indicator: ind, Tag: s.tags[r].Tag})
	}
	return dst
}

// AppendDomain appends the matches of name and the domains above it to
// dst: the allocation-free form of MatchDomain for hot paths.
func (s *Set) AppendDomain(dst []Match, name string) []Match {
	if len(s.domains) == 0 {
		return dst
	}
	name = strings.TrimSuffix(name, ".")
	for {
		if r, ok := s.domains[s.key(name)]; ok {
			dst = s.appendTags(dst, r, name)
		}
		i := strings.IndexByte(name, '.')
		if i < 0 {
			return dst
		}
		name = name[i+1:]
	}
}

// AppendIP appends the matches of a, exact or by CIDR block, to dst. It
// allocates only to name the indicator of a match.
func (s *Set) AppendIP(dst []Match, a netip.Addr) []Match {
	if !a.IsValid() {
		return dst
	}
	a = a.Unmap()
	if r, ok := s.ips[a.As16()]; ok {
		dst = s.appendTags(dst, r, a.String())
	}
	is4 := a.Is4()
	for _, bits := range s.lengths {
		if is4 != (bits > 96) {
			continue
		}
		b := bits
		if is4 {
			b -= 96
		}
		p, err := a.Prefix(b)
		if err != nil {
			continue
		}
		if r, ok := s.prefixes[bits][p.Addr().As16()]; ok {
			dst = s.appendTags(dst, r, p.String())
		}
	}
	return dst
}

// key hashes an indicator for the maps. Two different indicators share a
// key with odds of about one in 2^64 per pair: a false match is less
// likely than a bit flip.
func (s *Set) key(v string) uint64 { return maphash.String(s.seed, v) }
