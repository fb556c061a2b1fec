package dns

// pairTable finds waiting queries by key hash: open addressing with linear
// probing over (hash, query) slots, so a lookup compares hashes held in
// the table and touches a query only when its hash matches; waiting
// queries whose response never comes cost no cache miss to the others.
// Queries with the same hash lie along the probe sequence in arrival
// order, and deletion by backward shift keeps that order, so a key's
// oldest query is found first.
type pairTable struct {
	slots []pairSlot // a power of two, at most half full
	n     int
}

type pairSlot struct {
	hash uint64
	q    *pending // nil: empty
}

const minSlots = 1 << 10

func (t *pairTable) mask() uint64 { return uint64(len(t.slots) - 1) }

// add inserts q, whose key hashes to h, after every query of that hash
// already there.
func (t *pairTable) add(q *pending, h uint64) {
	if 2*(t.n+1) > len(t.slots) {
		t.resize(max(minSlots, 2*len(t.slots)))
	}
	t.n++
	t.place(pairSlot{h, q})
}

func (t *pairTable) place(s pairSlot) {
	m := t.mask()
	i := s.hash & m
	for t.slots[i].q != nil {
		i = (i + 1) & m
	}
	t.slots[i] = s
}

// resize rehashes into size slots.
func (t *pairTable) resize(size int) {
	old := t.slots
	t.slots = make([]pairSlot, size)
	if t.n == 0 {
		return
	}
	// Reinsert in probe order from an empty slot, so that queries of
	// one hash keep their relative order.
	start := 0
	for start < len(old) && old[start].q != nil {
		start++
	}
	for k := range old {
		if s := old[(start+k)%len(old)]; s.q != nil {
			t.place(s)
		}
	}
}

// pop removes and returns the oldest query of k, whose hash is h, or nil.
func (t *pairTable) pop(k *txKey, h uint64) *pending {
	if t.n == 0 {
		return nil
	}
	m := t.mask()
	for i := h & m; t.slots[i].q != nil; i = (i + 1) & m {
		if s := t.slots[i]; s.hash == h && s.q.key == *k {
			t.deleteAt(i)
			return s.q
		}
	}
	return nil
}

// remove removes q, whose key hashes to h.
func (t *pairTable) remove(q *pending, h uint64) {
	if t.n == 0 {
		return
	}
	m := t.mask()
	for i := h & m; t.slots[i].q != nil; i = (i + 1) & m {
		if t.slots[i].q == q {
			t.deleteAt(i)
			return
		}
	}
}

// deleteAt empties slot i and shifts back the entries after it whose probe
// sequence passes through it.
func (t *pairTable) deleteAt(i uint64) {
	m := t.mask()
	t.n--
	for j := (i + 1) & m; t.slots[j].q != nil; j = (j + 1) & m {
		home := t.slots[j].hash & m
		// Move j into the hole at i unless its home lies in (i, j].
		if (j-home)&m >= (j-i)&m {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = pairSlot{}
}
