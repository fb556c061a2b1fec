package dns

import (
	"math/rand/v2"
	"testing"
)

// TestPairTable runs random adds, pops and removes against a model: per
// key, a first-in first-out list. Hashes are forced into a few values, so
// different keys collide and clusters wrap around the table's end.
func TestPairTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tab pairTable
	model := map[uint16][]*pending{}
	var live []*pending
	hashOf := func(id uint16) uint64 { return uint64(id%13) * 0x9e3779b97f4a7c15 }
	for step := 0; step < 200000; step++ {
		id := uint16(rng.IntN(40))
		switch op := rng.IntN(10); {
		case op < 5 || len(live) == 0:
			q := &pending{key: txKey{id: id}}
			tab.add(q, hashOf(id))
			model[id] = append(model[id], q)
			live = append(live, q)
		case op < 8:
			k := txKey{id: id}
			got := tab.pop(&k, hashOf(id))
			var want *pending
			if l := model[id]; len(l) > 0 {
				want, model[id] = l[0], l[1:]
			}
			if got != want {
				t.Fatalf("step %d: pop(%d) = %p, want %p", step, id, got, want)
			}
			for i, q := range live {
				if q == got {
					live = append(live[:i], live[i+1:]...)
					break
				}
			}
		default:
			i := rng.IntN(len(live))
			q := live[i]
			tab.remove(q, hashOf(q.key.id))
			live = append(live[:i], live[i+1:]...)
			l := model[q.key.id]
			for j := range l {
				if l[j] == q {
					model[q.key.id] = append(l[:j], l[j+1:]...)
					break
				}
			}
		}
		if tab.n != len(live) {
			t.Fatalf("step %d: table holds %d, want %d", step, tab.n, len(live))
		}
	}
}
