package flow

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// Index maps Keys to values through a 64-bit hash of the key. A Go map
// keyed by the 37-byte Key has 48-byte slots and spends most of a lookup
// waiting for memory; keyed by the hash its slots are 16 bytes. The value
// holds its own key, which confirms a hit; the rare keys whose hash is
// already taken go to a plain map keyed by Key, so a collision (even a
// crafted one) costs speed, never correctness.
type Index[V comparable] struct {
	seed     uint64
	m        map[uint64]V
	overflow map[Key]V
	keyOf    func(V) Key
}

// NewIndex returns an empty index; keyOf gives a value's key.
func NewIndex[V comparable](keyOf func(V) Key) *Index[V] {
	return &Index[V]{seed: rand.Uint64() | 1, m: make(map[uint64]V, 1024), keyOf: keyOf}
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (x *Index[V]) hash(k *Key) uint64 {
	a := binary.LittleEndian.Uint64(k.A[:8])
	b := binary.LittleEndian.Uint64(k.A[8:])
	c := binary.LittleEndian.Uint64(k.B[:8])
	d := binary.LittleEndian.Uint64(k.B[8:])
	e := uint64(k.PA)<<32 | uint64(k.PB)<<16 | uint64(k.Proto)
	h := mix(a^x.seed, b^0x9e3779b97f4a7c15)
	h = mix(h^c, d^0xbf58476d1ce4e5b9)
	return mix(h^e, x.seed^0x94d049bb133111eb)
}

// Get returns the value of k.
func (x *Index[V]) Get(k Key) (V, bool) {
	var zero V
	if v, ok := x.m[x.hash(&k)]; ok && x.keyOf(v) == k {
		return v, true
	}
	if len(x.overflow) > 0 {
		v, ok := x.overflow[k]
		return v, ok
	}
	return zero, false
}

// Put adds v under k, which must not be in the index.
func (x *Index[V]) Put(k Key, v V) {
	h := x.hash(&k)
	if _, taken := x.m[h]; taken {
		if x.overflow == nil {
			x.overflow = map[Key]V{}
		}
		x.overflow[k] = v
		return
	}
	x.m[h] = v
}

// Delete removes k.
func (x *Index[V]) Delete(k Key) {
	h := x.hash(&k)
	if v, ok := x.m[h]; ok && x.keyOf(v) == k {
		// No rebuild to shed tombstones: since Go 1.25 the map prunes
		// them itself before it would grow, and copying the whole map
		// every len+1024 deletes cost a flow table of short connections
		// ~5% of its time.
		delete(x.m, h)
		return
	}
	delete(x.overflow, k)
}

// Len returns the number of keys.
func (x *Index[V]) Len() int { return len(x.m) + len(x.overflow) }
