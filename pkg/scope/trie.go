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
// the sets of every prefix containing it. It is a multibit trie with 4-bit
// strides; unions are pushed down the paths while building, so a lookup is
// at most 8 (IPv4) or 32 (IPv6) slot reads and never backtracks. Slots hold
// an index into a table of distinct values, which keeps nodes small (128
// bytes) when there are many prefixes and few groups.
type trie struct {
	nodes  []node
	values []sets
	intern map[sets]uint32
}

const stride = 4

type slot struct {
	val   uint32 // index into values
	child uint32 // index into nodes; 0 means none (the root is never a child)
}

type node [1 << stride]slot

func newTrie() *trie {
	t := &trie{nodes: make([]node, 1), values: []sets{{}}, intern: map[sets]uint32{{}: 0}}
	return t
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
// trees use the first 4) and its length in bits.
func (t *trie) insert(a [16]byte, bits int, add sets) {
	n := uint32(0)
	depth := 0
	for bits > stride*(depth+1) {
		s := &t.nodes[n][nibble(&a, depth)]
		if s.child == 0 {
			c := uint32(len(t.nodes))
			var nd node
			for i := range nd {
				nd[i].val = s.val
			}
			t.nodes = append(t.nodes, nd)
			// append may have moved the nodes
			t.nodes[n][nibble(&a, depth)].child = c
		}
		n = t.nodes[n][nibble(&a, depth)].child
		depth++
	}
	// The prefix ends inside this node: it covers a run of slots.
	rem := bits - stride*depth // 0..4
	first := 0
	if depth*stride < 128 && rem > 0 {
		first = nibble(&a, depth) &^ (1<<(stride-rem) - 1)
	}
	for i := first; i < first+1<<(stride-rem); i++ {
		t.orSlot(n, i, add)
	}
}

// orSlot adds add to a slot and to everything below it.
func (t *trie) orSlot(n uint32, i int, add sets) {
	s := &t.nodes[n][i]
	s.val = t.value(t.values[s.val].or(add))
	if c := s.child; c != 0 {
		for j := range t.nodes[c] {
			t.orSlot(c, j, add)
		}
	}
}

// lookup returns the union of the sets of the prefixes containing a, given
// as 16 bytes of which the first n are significant (4 or 16).
func (t *trie) lookup(a *[16]byte, n int) sets {
	nd := &t.nodes[0]
	for i := 0; i < n*2; i++ {
		s := nd[nibble(a, i)]
		if s.child == 0 {
			return t.values[s.val]
		}
		nd = &t.nodes[s.child]
	}
	return sets{}
}

// nets holds one trie per address family.
type nets struct {
	v4, v6 *trie
}

func newNets() nets { return nets{newTrie(), newTrie()} }

func (ns nets) insert(p netip.Prefix, add sets) {
	p = p.Masked()
	var a [16]byte
	if p.Addr().Is4() {
		b := p.Addr().As4()
		copy(a[:], b[:])
		ns.v4.insert(a, p.Bits(), add)
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
		return ns.v4.lookup(&a, 4)
	}
	a := ip.As16()
	return ns.v6.lookup(&a, 16)
}

// size returns the memory the tries' nodes use, in bytes.
func (ns nets) size() int {
	return (len(ns.v4.nodes) + len(ns.v6.nodes)) * len(node{}) * 8
}
