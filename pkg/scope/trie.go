package scope

import "net/netip"

// groupSet is a set of groups, one bit per group in the order of
// Scope.names; a scope has at most 64 groups.
type groupSet uint64

// sets is what the trie stores for an address: the groups whose networks
// contain it (in), the groups that exclude it as a source (out), and the
// groups that trust it as a destination (trust).
type sets struct{ in, out, trust groupSet }

func (s sets) or(t sets) sets { return sets{s.in | t.in, s.out | t.out, s.trust | t.trust} }

// trie maps IP prefixes to sets and answers, for an address, the union of
// the sets of every prefix containing it. The first 16 bits index a table
// directly; below it, nodes have 4-bit strides. Unions are pushed down the
// paths while building, so a lookup is one table read plus at most 4 (IPv4)
// or 28 (IPv6) slot reads, and never backtracks. Slots hold an index into a
// table of distinct values, which keeps nodes small (128 bytes) when there
// are many prefixes and few groups.
type trie struct {
	root   []slot // 1<<rootBits slots
	nodes  []node // nodes[0] is unused: child 0 means none
	values []sets
	intern map[sets]uint32
}

const (
	rootBits = 16
	stride   = 4
)

type slot struct {
	val   uint32 // index into values
	child uint32 // index into nodes; 0 means none
}

type node [1 << stride]slot

func newTrie() *trie {
	return &trie{
		root:   make([]slot, 1<<rootBits),
		nodes:  make([]node, 1),
		values: []sets{{}},
		intern: map[sets]uint32{{}: 0},
	}
}

func (t *trie) value(s sets) uint32 {
	if i, ok := t.intern[s]; ok {
		return i
	}
	i := uint32(len(t.values))
	t.values = append(t.values, s)
	t.intern[s] = i
	return i
}

// nibble returns the i-th 4-bit group of a (0 is the most significant).
func nibble(a *[16]byte, i int) int {
	b := a[i/2]
	if i%2 == 0 {
		return int(b >> 4)
	}
	return int(b & 0xf)
}

// insert adds add to every address of the prefix given as 16 bytes (IPv4
// tries use the first 4) and its length in bits.
func (t *trie) insert(a [16]byte, bits int, add sets) {
	top := int(a[0])<<8 | int(a[1])
	if bits <= rootBits {
		first := top &^ (1<<(rootBits-bits) - 1)
		for i := first; i < first+1<<(rootBits-bits); i++ {
			t.orSlot(&t.root[i], add)
		}
		return
	}
	// parent is where the current slot lives: -1 for the root table.
	parent, idx := -1, top
	for depth := rootBits / stride; ; depth++ {
		s := t.slot(parent, idx)
		if s.child == 0 {
			var nd node
			for i := range nd {
				nd[i].val = s.val
			}
			t.nodes = append(t.nodes, nd)
			t.slot(parent, idx).child = uint32(len(t.nodes) - 1) // append may move nodes
		}
		n := int(t.slot(parent, idx).child)
		if bits <= stride*(depth+1) {
			// The prefix ends in this node: it covers a run of slots.
			rem := bits - stride*depth
			first := nibble(&a, depth) &^ (1<<(stride-rem) - 1)
			for i := first; i < first+1<<(stride-rem); i++ {
				t.orSlot(&t.nodes[n][i], add)
			}
			return
		}
		parent, idx = n, nibble(&a, depth)
	}
}

func (t *trie) slot(parent, idx int) *slot {
	if parent < 0 {
		return &t.root[idx]
	}
	return &t.nodes[parent][idx]
}

// orSlot adds add to a slot and to everything below it.
func (t *trie) orSlot(s *slot, add sets) {
	s.val = t.value(t.values[s.val].or(add))
	if c := s.child; c != 0 {
		for j := range t.nodes[c] {
			t.orSlot(&t.nodes[c][j], add)
		}
	}
}

// lookup returns the union of the sets of the prefixes containing a.
func (t *trie) lookup(a *[16]byte) sets {
	s := t.root[int(a[0])<<8|int(a[1])]
	for i := rootBits / stride; s.child != 0; i++ {
		s = t.nodes[s.child][nibble(a, i)]
	}
	return t.values[s.val]
}

// nets holds one trie per address family, and IPv6 host addresses (/128)
// in a map: in a 4-bit trie each would cost 28 nodes of its own.
type nets struct {
	v4, v6 *trie
	hosts6 map[netip.Addr]sets
}

func newNets() nets { return nets{newTrie(), newTrie(), map[netip.Addr]sets{}} }

func (ns nets) insert(p netip.Prefix, add sets) {
	if !p.IsValid() {
		return
	}
	p = p.Masked()
	var a [16]byte
	if p.Addr().Is4() {
		b := p.Addr().As4()
		copy(a[:], b[:])
		ns.v4.insert(a, p.Bits(), add)
		return
	}
	if p.Bits() == 128 {
		ns.hosts6[p.Addr()] = ns.hosts6[p.Addr()].or(add)
		return
	}
	a = p.Addr().As16()
	ns.v6.insert(a, p.Bits(), add)
}

func (ns nets) lookup(ip netip.Addr) sets {
	if ip.Is4() {
		var a [16]byte
		b := ip.As4()
		copy(a[:], b[:])
		return ns.v4.lookup(&a)
	}
	a := ip.As16()
	s := ns.v6.lookup(&a)
	if len(ns.hosts6) > 0 {
		s = s.or(ns.hosts6[ip.WithZone("")])
	}
	return s
}
