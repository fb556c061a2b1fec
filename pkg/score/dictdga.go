package score

import (
	"net/netip"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// Dictionary-word DGAs (Suppobox, Matsnu, Gozi/Nymaim2, Pizd) join two or
// three words of a list of a few hundred to a few thousand English words
// under one TLD: the names read as English, so the letter statistics of
// dga.go pass them. What gives them away is behaviour: a victim looks up
// tens to hundreds a day that no other host ever looked up, most answered
// NXDOMAIN, and connects to hardly any of those that resolve.
//
// Per source, the detector keeps the distinct registered domains whose
// main label splits into two or three words of words.txt (splitWords) and
// that were new to the network when the source looked them up (no host
// had looked the registered domain up before: the engine's seen set).
// Each counts as strong when answered NXDOMAIN, or when it resolved and
// the source opened no connection to any of its addresses within
// wordsConnWait; as weak (a quarter) when the source connected: that is
// how people use the sites they look up. An alert needs, in a sliding
// LongWindow (1 h), DGAWords (10) points of which two thirds strong (7),
// or DGAWordsDay (24) strong ones in Horizon (24 h).
//
// Variant space claimed: 2-3 words of 3-12 letters from common English
// words, any TLD, from DGAWords (10) names an hour up, or from DGAWordsDay
// (24) a day at any slower pace, any mix of NXDOMAIN and resolutions
// that are not followed by a connection, mixed with any amount of normal
// browsing. Not covered: words outside the list (rare words, other
// languages, digits or hyphens between the words), generators whose
// every resolving name is then connected to, and fewer names than that.
// A sensor that sees only a resolver's own upstream queries puts every
// lookup on the resolver, which connects to nothing: allow dga from it
// (score.allow) there. Where the clients' queries are seen too, the
// resolver's follow them and are not new.
const (
	wordsConnWait  = time.Minute // a resolution with no connection by then counts strong
	wordsConnKeep  = time.Hour   // how long a resolution's addresses wait for a connection
	wordsPerSource = 64          // names kept per source, oldest out
	wordsAnswers   = 4           // names kept per (source, address)
)

// Kinds of a word-pair name in a source's list.
const (
	wordNX       = 1 // answered NXDOMAIN
	wordResolved = 2 // resolved; no connection to its addresses seen yet
	wordUsed     = 3 // resolved and connected to
)

// dictDGA is the detector. It follows the firstSeen detector, which
// tells it (observation.newDomain) whether a lookup's registered domain was
// new to the network.
type dictDGA struct {
	th      Thresholds
	look    *lookup
	sources *table[netip.Addr, wordSource]
	answers *table[wordConnKey, wordAnswer] // per (source, answer address), the names it answered
}

type wordSource struct {
	Names []wordName
	Check int64  // Unix s when a resolution becomes strong unless connected; 0: none pending
	Last  string // the last word-pair domain, named in the reason
}

type wordName struct {
	Reg  uint64 // hash of the registered domain
	At   int64  // Unix s of the first lookup
	Kind uint8
}

type wordConnKey struct{ Src, Dst [16]byte }

type wordAnswer struct {
	Regs [wordsAnswers]uint64
	N    uint8
}

func newDictDGA(th Thresholds, look *lookup, cfg Config) *dictDGA {
	return &dictDGA{
		th:      th,
		look:    look,
		sources: newTable[netip.Addr, wordSource](cfg.MaxSources),
		answers: newTable[wordConnKey, wordAnswer](cfg.MaxDomains),
	}
}

func (*dictDGA) name() string           { return "dga_words" }
func (*dictDGA) on() kinds              { return onDNS | onIP }
func (*dictDGA) threats() []string      { return []string{ThreatDGA} }
func (d *dictDGA) tables() []stateTable { return []stateTable{d.sources, d.answers} }
func (d *dictDGA) held(st *Stats)       { st.Sources += d.sources.len() }

// sweep drops sources silent for a day and resolutions too old to wait
// for a connection.
func (d *dictDGA) sweep(now time.Time, long bool) {
	d.sources.expire(now.Add(-d.th.Horizon))
	d.answers.expire(now.Add(-wordsConnKeep))
}

func (d *dictDGA) observe(o *observation, f *findings) {
	if o.ev.Type == event.TypeIP {
		d.connected(o.ev)
		return
	}
	if !o.regOK {
		return
	}
	ev, reg := o.ev, o.reg
	var s *wordSource
	if n, ok := d.wordPairLookup(o); ok {
		s = d.sources.get(ev.SrcIP, o.now)
		s.add(n)
		if s.Last != reg {
			s.Last = strings.Clone(reg) // not the event's buffer
		}
		if n.Kind == wordResolved {
			d.answered(ev, n.Reg, o.now)
		}
	} else {
		if d.sources.len() == 0 {
			return
		}
		p, ok := d.sources.peek(ev.SrcIP)
		if !ok || p.Check == 0 || o.now.Unix() < p.Check {
			return
		}
		s = p
	}
	d.verdict(o, s, f)
}

// wordPairLookup returns the name entry for a lookup of a word-pair
// domain new to the network, answered NXDOMAIN or with addresses.
func (d *dictDGA) wordPairLookup(o *observation) (wordName, bool) {
	// A domain looked up before is not new: the common case ends here.
	if !o.newDomain {
		return wordName{}, false
	}
	ev := o.ev
	// Malware asks for addresses; the TXT, MX and PTR lookups of mail
	// servers checking senders (spam's domains read as words too) do not
	// count.
	switch ev.QType {
	case "A", "AAAA", "":
	default:
		return wordName{}, false
	}
	kind := uint8(0)
	switch ev.RCode {
	case "NXDOMAIN":
		kind = wordNX
	case "", "NOERROR":
		for _, a := range ev.Answers {
			if _, err := netip.ParseAddr(a); err == nil {
				kind = wordResolved
				break
			}
		}
	}
	if kind == 0 {
		return wordName{}, false
	}
	if splitWords(mainLabel(o.reg)).Words == 0 || d.look.allowedInfra(o.name) {
		return wordName{}, false
	}
	return wordName{Reg: hash(o.reg), At: o.now.Unix(), Kind: kind}, true
}

// add keeps n unless the source looked the domain up already, dropping
// the oldest name when the list is full.
func (s *wordSource) add(n wordName) {
	for _, x := range s.Names {
		if x.Reg == n.Reg {
			return
		}
	}
	if len(s.Names) >= wordsPerSource {
		copy(s.Names, s.Names[1:])
		s.Names = s.Names[:len(s.Names)-1]
	}
	s.Names = append(s.Names, n)
}

// answered remembers which source's name each answer address carried.
func (d *dictDGA) answered(ev *event.Event, reg uint64, now time.Time) {
	src := ev.SrcIP.Unmap().As16()
	for _, ans := range ev.Answers {
		a, err := netip.ParseAddr(ans)
		if err != nil {
			continue
		}
		wa := d.answers.get(wordConnKey{Src: src, Dst: a.Unmap().As16()}, now)
		wa.Regs[wa.N%wordsAnswers] = reg
		if wa.N++; wa.N > wordsAnswers {
			wa.N = wordsAnswers + wa.N%wordsAnswers // full: N%4 goes on round the ring
		}
	}
}

// connected marks the word-pair names whose addresses ev connects to as
// used. It costs one map lookup while any resolution waits.
func (d *dictDGA) connected(ev *event.Event) {
	if d.answers.len() == 0 {
		return
	}
	wa, ok := d.answers.peek(wordConnKey{Src: ev.SrcIP.Unmap().As16(), Dst: ev.DestIP.Unmap().As16()})
	if !ok {
		return
	}
	s, ok := d.sources.peek(ev.SrcIP)
	if !ok {
		return
	}
	for i := range s.Names {
		n := &s.Names[i]
		if n.Kind != wordResolved {
			continue
		}
		for _, r := range wa.Regs[:min(int(wa.N), wordsAnswers)] {
			if r == n.Reg {
				n.Kind = wordUsed
			}
		}
	}
}

// verdict counts the source's names and raises dga (flag dga_words)
// when they are enough.
func (d *dictDGA) verdict(o *observation, s *wordSource, f *findings) {
	ev, now := o.ev, o.now.Unix()
	hour := now - int64(d.th.LongWindow/time.Second)
	day := now - int64(d.th.Horizon/time.Second)
	keep := s.Names[:0]
	var nx, unused, used, pending, dayStrong int
	s.Check = 0
	for _, n := range s.Names {
		if n.At < day {
			continue
		}
		keep = append(keep, n)
		strong := n.Kind == wordNX || n.Kind == wordResolved && now-n.At >= int64(wordsConnWait/time.Second)
		if n.Kind == wordResolved && !strong {
			if c := n.At + int64(wordsConnWait/time.Second); s.Check == 0 || c < s.Check {
				s.Check = c
			}
		}
		if strong {
			dayStrong++
		}
		if n.At < hour {
			continue
		}
		switch {
		case n.Kind == wordNX:
			nx++
		case strong:
			unused++
		case n.Kind == wordUsed:
			used++
		default:
			pending++
		}
	}
	s.Names = keep
	strong := nx + unused
	points := float64(strong) + float64(used+pending)/4
	label := mainLabel(s.Last)
	switch {
	case 3*strong >= 2*d.th.DGAWords && points >= float64(d.th.DGAWords):
		f.flag("dga_words")
		f.add(ThreatDGA, s.Last, "%d dictionary-word domains new to the network from %s in the last %s: %d NXDOMAIN, %d resolved and never connected to, %d connected to; the last %s (%s)",
			strong+used, ev.SrcIP, dur(d.th.LongWindow), nx, unused, used, s.Last, splitWords(label).format(label))
	case dayStrong >= d.th.DGAWordsDay:
		f.flag("dga_words")
		f.add(ThreatDGA, s.Last, "%d dictionary-word domains new to the network from %s in the last %s, NXDOMAIN or resolved and never connected to; the last %s (%s)",
			dayStrong, ev.SrcIP, dur(d.th.Horizon), s.Last, splitWords(label).format(label))
	}
}
