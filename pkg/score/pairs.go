package score

import (
	"encoding/gob"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// pairs is the state kept per source, destination address, port and
// protocol (TCP or UDP) for the detectors that watch pairs: strobes,
// uploads, direct C2 and beacons. It is one table with one part per
// detector, not a table per detector, because every connection touches
// all of them: one lookup per event instead of four, and one entry per
// pair for the memory cap. Most pairs of a network carry one connection
// and those detectors need many, so a pair gets an entry from its second
// connection on (sighted); its first only sets a bit.
type pairs struct {
	t *table[pairKey, pairState]
	sighted
}

type pairKey struct {
	Src, Dst [16]byte // netip.Addr.As16: no pointers for the collector
	Port     uint16
	Proto    uint8 // 6 tcp, 17 udp
}

// pairState is what the engine remembers about one pair; each part
// belongs to the detector named.
type pairState struct {
	Upload uploadPair  // upload.go
	Strobe strobePair  // strobe.go
	Direct directPair  // direct.go
	Beacon beaconState // beacon.go
}

func newPairs(max int) *pairs { return &pairs{t: newTable[pairKey, pairState](max)} }

func pairOf(ev *event.Event, proto uint8) pairKey {
	return pairKey{Src: ev.SrcIP.As16(), Dst: ev.DestIP.As16(), Port: ev.DestPort, Proto: proto}
}

// observe finds or makes the pair of an ip event for the detectors: of
// TCP and UDP connections to external hosts, and of failed TCP attempts
// from monitored hosts (strobes). Flows that send a lot are kept from the
// first (uploads); others from a pair's second connection.
func (ps *pairs) observe(o *observation) {
	ev := o.ev
	switch {
	case o.proto == 6 && o.failed:
		if !o.srcInternal || !o.dstExternal {
			return
		}
	case o.proto == 6:
		if !o.dstExternal {
			return
		}
		o.bulk = ev.BytesOut >= 64<<10 && ev.BytesOut >= 4*ev.BytesIn
	case o.proto == 17:
		if !o.dstExternal {
			return
		}
	default:
		return
	}
	o.pair, o.newPair = ps.get(pairOf(ev, o.proto), o.now, o.bulk)
}

// get returns the state of pair k, creating it when force is set or the
// pair was seen before; nil for a first sighting.
func (ps *pairs) get(k pairKey, now time.Time, force bool) (*pairState, bool) {
	if p, ok := ps.t.touch(k, now); ok {
		return p, false
	}
	if !force && !ps.second(fnv(fnv(uint64(k.Port)<<8|uint64(k.Proto), string(k.Src[:])), string(k.Dst[:]))) {
		return nil, false
	}
	return ps.t.getNew(k, now)
}

// sighted is a fixed 512 KiB bitset of the pairs (by address or by name,
// beacon.go) seen once: a first sighting sets a bit and allocates
// nothing. It is cleared when half full. It is saved with --state (with
// the pairs' table), so a run over the next hour's logs does not make a
// pair seen once before wait for one more connection.
type sighted struct {
	bits []uint64
	n    int
}

// sightedState is what --state keeps of a sighted bitset.
type sightedState struct {
	Bits []uint64
	N    int
}

func (s *sighted) save(enc *gob.Encoder) error {
	return enc.Encode(sightedState{Bits: s.bits, N: s.n})
}

func (s *sighted) restore(dec *gob.Decoder) error {
	var st sightedState
	if err := dec.Decode(&st); err != nil {
		return err
	}
	if len(st.Bits) != 0 && len(st.Bits) != sightedWords {
		return fmt.Errorf("a bitset of pairs seen once of %d words, want %d", len(st.Bits), sightedWords)
	}
	s.bits, s.n = st.Bits, st.N
	return nil
}

func (s *sighted) evictions() int64 { return 0 }

const sightedWords = 1 << 16

// second reports whether the pair with hash h was seen before, and marks
// it seen.
func (s *sighted) second(h uint64) bool {
	if s.bits == nil {
		s.bits = make([]uint64, sightedWords)
	}
	i, bit := (h>>6)%sightedWords, uint64(1)<<(h&63)
	if s.bits[i]&bit != 0 {
		return true
	}
	s.bits[i] |= bit
	if s.n++; s.n > sightedWords*64/2 {
		clear(s.bits)
		s.n = 0
	}
	return false
}

// answers remembers the addresses seen in DNS answers (kept a day, capped
// at MaxDomains): which registered domain they answered for, and whether
// that is cloud storage or allowlisted infrastructure. Direct C2, uploads
// and beacons look destinations up in it. The values hold no pointers, so
// the collector skips this large table; the domains' names are kept
// apart, by hash, in a cache cleared when full.
type answers struct {
	t     *table[[16]byte, answer]
	names map[uint64]string
	look  *lookup
}

// answer is what is kept of an address seen in a DNS answer.
type answer struct {
	Reg   uint64 // hash of the registered domain of the name; 0 if none
	Cloud bool   // the name is cloud storage
	Infra bool   // the name is on the built-in infra-allow list
}

func newAnswers(max int, look *lookup) *answers {
	return &answers{t: newTable[[16]byte, answer](max), names: map[uint64]string{}, look: look}
}

func (as *answers) peek(a netip.Addr) (*answer, bool) { return as.t.peek(a.Unmap().As16()) }

// record remembers the answers of a DNS event, at most every ten minutes
// for a name in the clean-name cache: most lookups repeat a few names
// with the same answers.
func (as *answers) record(o *observation) {
	ev := o.ev
	if len(ev.Answers) == 0 {
		return
	}
	reg := o.reg
	if !o.regOK {
		reg = ""
	}
	if o.hasClean {
		now := o.now.Unix()
		if now-o.clean.answered < 600 && now >= o.clean.answered {
			return
		}
		o.clean.answered = now
		o.look.keepClean(o)
	}
	// h stays 0 for a name with no registered domain (a public suffix,
	// .arpa): uploads fold by domain only under a real one.
	var h uint64
	done, cloud, infra := false, false, false
	for _, ans := range ev.Answers {
		a, err := netip.ParseAddr(ans)
		if err != nil {
			continue
		}
		if !done {
			done = true
			if reg != "" {
				h = hash(reg)
			}
			cloud = isCloudStorage(o.name)
			infra = as.look.allowedInfra(o.name)
		}
		n, created := as.t.getNew(a.Unmap().As16(), o.now)
		if created || n.Reg != h || n.Cloud != cloud || n.Infra != infra {
			*n = answer{Reg: h, Cloud: cloud, Infra: infra}
			if reg != "" {
				if len(as.names) >= maxNameCache {
					clear(as.names)
				}
				as.names[h] = strings.Clone(reg)
			}
		}
	}
}

// name returns the registered domain of hash h, as DNS answers named it.
func (as *answers) name(h uint64) string {
	if n, ok := as.names[h]; ok {
		return n
	}
	return "one registered domain"
}
