package scope

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestTrieTable(t *testing.T) {
	ns := newNets()
	for _, x := range []struct {
		p string
		s sets
	}{
		{"10.0.0.0/8", sets{in: 1}},
		{"10.1.0.0/16", sets{out: 1}},
		{"10.1.2.3/32", sets{in: 2}},
		{"10.128.0.0/9", sets{in: 4}},
		{"0.0.0.0/0", sets{trust: 8}},
		{"2001:db8::/32", sets{in: 1}},
		{"2001:db8:1::/48", sets{in: 2}},
		{"::/0", sets{trust: 4}},
		{"fe80::1/128", sets{out: 2}},
	} {
		ns.insert(netip.MustParsePrefix(x.p), x.s)
	}
	for _, tt := range []struct {
		ip   string
		want sets
	}{
		{"10.0.0.1", sets{in: 1, trust: 8}},
		{"10.1.2.3", sets{in: 3, out: 1, trust: 8}},
		{"10.1.2.4", sets{in: 1, out: 1, trust: 8}},
		{"10.200.0.1", sets{in: 5, trust: 8}},
		{"11.0.0.1", sets{trust: 8}},
		{"2001:db8::1", sets{in: 1, trust: 4}},
		{"2001:db8:1:ffff::1", sets{in: 3, trust: 4}},
		{"2001:db9::1", sets{trust: 4}},
		{"fe80::1", sets{out: 2, trust: 4}},
		{"fe80::2", sets{trust: 4}},
	} {
		if got := ns.lookup(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("lookup(%s) = %+v, want %+v", tt.ip, got, tt.want)
		}
	}
}

// TestTrieRandom checks the trie against a linear scan of the prefixes,
// inserting them in random order (the trie pushes sets down either way).
func TestTrieRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	type entry struct {
		p netip.Prefix
		s sets
	}
	var entries []entry
	for i := 0; i < 2000; i++ {
		var p netip.Prefix
		if i%3 == 0 {
			var a [16]byte
			for j := range a {
				a[j] = byte(r.IntN(4)) // small alphabet: many overlaps
			}
			p = netip.PrefixFrom(netip.AddrFrom16(a), r.IntN(129)).Masked()
		} else {
			a := [4]byte{byte(r.IntN(4)), byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(256))}
			p = netip.PrefixFrom(netip.AddrFrom4(a), r.IntN(33)).Masked()
		}
		entries = append(entries, entry{p, sets{in: groupSet(1) << r.IntN(64), out: groupSet(r.IntN(4)), trust: groupSet(r.IntN(4)) << 8}})
	}
	ns := newNets()
	for _, e := range entries {
		ns.insert(e.p, e.s)
	}
	for i := 0; i < 20000; i++ {
		var ip netip.Addr
		if i%3 == 0 {
			var a [16]byte
			for j := range a {
				a[j] = byte(r.IntN(4))
			}
			ip = netip.AddrFrom16(a)
		} else {
			ip = netip.AddrFrom4([4]byte{byte(r.IntN(4)), byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(256))})
		}
		var want sets
		for _, e := range entries {
			if e.p.Contains(ip) {
				want = want.or(e.s)
			}
		}
		if got := ns.lookup(ip); got != want {
			t.Fatalf("lookup(%s) = %+v, want %+v", ip, got, want)
		}
	}
}
