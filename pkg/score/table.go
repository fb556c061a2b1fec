package score

import (
	"encoding/gob"
	"slices"
	"time"
)

// table is a map with a size cap. When full, inserting evicts the least
// recently used quarter of the entries, which keeps memory bounded without
// the cost of an exact LRU list.
type table[K comparable, V any] struct {
	m       map[K]*slot[V]
	max     int
	evicted int64
	scratch []int64
}

type slot[V any] struct {
	v    V
	last int64 // Unix nanoseconds of the last use
}

func newTable[K comparable, V any](max int) *table[K, V] {
	return &table[K, V]{m: make(map[K]*slot[V]), max: max}
}

// get returns the entry for k, creating it (and evicting another) if needed.
func (t *table[K, V]) get(k K, now time.Time) *V {
	v, _ := t.getNew(k, now)
	return v
}

// getNew is get that also says whether the entry was created.
func (t *table[K, V]) getNew(k K, now time.Time) (*V, bool) {
	ns := now.UnixNano()
	if s, ok := t.m[k]; ok {
		if ns > s.last {
			s.last = ns
		}
		return &s.v, false
	}
	if len(t.m) >= t.max {
		t.evict()
	}
	s := &slot[V]{last: ns}
	t.m[k] = s
	return &s.v, true
}

// touch returns the entry for k, marking it used at now, without creating
// it.
func (t *table[K, V]) touch(k K, now time.Time) (*V, bool) {
	s, ok := t.m[k]
	if !ok {
		return nil, false
	}
	if ns := now.UnixNano(); ns > s.last {
		s.last = ns
	}
	return &s.v, true
}

// peek returns the entry for k without creating it.
func (t *table[K, V]) peek(k K) (*V, bool) {
	s, ok := t.m[k]
	if !ok {
		return nil, false
	}
	return &s.v, true
}

// evict drops the least recently used quarter of the table in one pass,
// which costs a few steps per entry dropped where evicting one at a time
// would walk the map for each.
func (t *table[K, V]) evict() {
	ts := t.scratch[:0]
	for _, s := range t.m {
		ts = append(ts, s.last)
	}
	slices.Sort(ts)
	n := max(len(ts)/4, 1)
	cutoff := ts[n-1]
	t.scratch = ts[:0]
	for k, s := range t.m {
		if n == 0 {
			break
		}
		if s.last <= cutoff {
			delete(t.m, k)
			t.evicted++
			n--
		}
	}
}

// expire drops entries not touched since before cutoff.
func (t *table[K, V]) expire(cutoff time.Time) {
	c := cutoff.UnixNano()
	for k, s := range t.m {
		if s.last < c {
			delete(t.m, k)
		}
	}
}

func (t *table[K, V]) len() int { return len(t.m) }

// entries returns a copy of the table for saving.
func (t *table[K, V]) entries() []entry[K, V] {
	out := make([]entry[K, V], 0, len(t.m))
	for k, s := range t.m {
		out = append(out, entry[K, V]{K: k, V: s.v, Last: time.Unix(0, s.last).UTC()})
	}
	return out
}

func (t *table[K, V]) load(es []entry[K, V]) {
	for _, e := range es {
		if len(t.m) >= t.max {
			break
		}
		t.m[e.K] = &slot[V]{v: e.V, last: e.Last.UnixNano()}
	}
}

type entry[K comparable, V any] struct {
	K    K
	V    V
	Last time.Time
}

// save writes the table's entries for a state file.
func (t *table[K, V]) save(enc *gob.Encoder) error { return enc.Encode(t.entries()) }

// restore replaces the table's entries with what save wrote.
func (t *table[K, V]) restore(dec *gob.Decoder) error {
	var es []entry[K, V]
	if err := dec.Decode(&es); err != nil {
		return err
	}
	t.m = make(map[K]*slot[V], len(es))
	t.load(es)
	return nil
}

func (t *table[K, V]) evictions() int64 { return t.evicted }
