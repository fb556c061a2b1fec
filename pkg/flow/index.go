package flow

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// Index maps Keys to values through a 64-bit hash of the key, in an
// open-addressing table of 16-byte slots (the hash and the value) probed
// linearly and kept at most half full. A Go map keyed by the 37-byte Key
// has 48-byte slots and spends most of a lookup waiting for memory; keyed
// by the hash, its group probing was still a tenth of nfr-capture's time on
// short connections, where every flow is looked up, added and removed
// within seconds. The value holds its own key, which confirms a hit; the
// rare keys whose hash is already taken go to a plain map keyed by Key, so
// a collision (even a crafted one) costs speed, never correctness.
type Index[V comparable] struct {
	seed     uint64
	slots    []slot[V] // a power of two of them; hash 0 marks an empty one
	n        int       // slots in use
	overflow map[Key]V
	keyOf    func(V) Key
}

type slot[V comparable] struct {
	h uint64
	v V
}

// NewIndex returns an empty index; keyOf gives a value's key.
func NewIndex[V comparable](keyOf func(V) Key) *Index[V] {
	return &Index[V]{seed: rand.Uint64() | 1, slots: make([]slot[V], 1024), keyOf: keyOf}
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hash is never 0, which marks an empty slot.
func (x *Index[V]) hash(k *Key) uint64 {
	a := binary.LittleEndian.Uint64(k.A[:8])
	b := binary.LittleEndian.Uint64(k.A[8:])
	c := binary.LittleEndian.Uint64(k.B[:8])
	d := binary.LittleEndian.Uint64(k.B[8:])
	e := uint64(k.PA)<<32 | uint64(k.PB)<<16 | uint64(k.Proto)
	h := mix(a^x.seed, b^0x9e3779b97f4a7c15)
	h = mix(h^c, d^0xbf58476d1ce4e5b9)
	return mix(h^e, x.seed^0x94d049bb133111eb) | 1<<63
}

// find returns the slot holding hash h, or -1.
func (x *Index[V]) find(h uint64) int {
	mask := len(x.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		switch x.slots[i].h {
		case h:
			return i
		case 0:
			return -1
		}
	}
}

// Get returns the value of k.
func (x *Index[V]) Get(k Key) (V, bool) {
	if i := x.find(x.hash(&k)); i >= 0 && x.keyOf(x.slots[i].v) == k {
		return x.slots[i].v, true
	}
	if len(x.overflow) > 0 {
		v, ok := x.overflow[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// Put adds v under k, which must not be in the index.
func (x *Index[V]) Put(k Key, v V) {
	h := x.hash(&k)
	if x.find(h) >= 0 {
		if x.overflow == nil {
			x.overflow = map[Key]V{}
		}
		x.overflow[k] = v
		return
	}
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	x.insert(h, v)
}

// insert puts v in the first free slot from h's.
func (x *Index[V]) insert(h uint64, v V) {
	mask := len(x.slots) - 1
	i := int(h) & mask
	for x.slots[i].h != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = slot[V]{h, v}
	x.n++
}

func (x *Index[V]) grow() {
	old := x.slots
	x.slots, x.n = make([]slot[V], 2*len(old)), 0
	for _, s := range old {
		if s.h != 0 {
			x.insert(s.h, s.v)
		}
	}
}

// Delete removes k.
func (x *Index[V]) Delete(k Key) {
	i := x.find(x.hash(&k))
	if i < 0 || x.keyOf(x.slots[i].v) != k {
		delete(x.overflow, k)
		return
	}
	// Shift back the slots after i that probing would no longer reach
	// past the hole, so no tombstone is needed.
	mask := len(x.slots) - 1
	for j := (i + 1) & mask; x.slots[j].h != 0; j = (j + 1) & mask {
		home := int(x.slots[j].h) & mask
		// The entry at j may move to i unless its home lies cyclically
		// in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = slot[V]{}
	x.n--
}

// Len returns the number of keys.
func (x *Index[V]) Len() int { return x.n + len(x.overflow) }
