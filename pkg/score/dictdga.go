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
// or DGAWordsDay (24) strong ones in 24 h.
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
	wordsConnWait  = time.Minute    // a resolution with no connection by then counts strong
	wordsConnKeep  = time.Hour      // how long a resolution's addresses wait for a connection
	wordsDay       = 24 * time.Hour // the long horizon
	wordsPerSource = 64             // names kept per source, oldest out
	wordsAnswers   = 4              // names kept per (source, address)
)

// Kinds of a word-pair name in a source's list.
const (
	wordNX       = 1 // answered NXDOMAIN
	wordResolved = 2 // resolved; no connection to its addresses seen yet
	wordUsed     = 3 // resolved and connected to
)

// wordsTable is the detector's state: the names per source (only sources
// that looked up word-pair names have one) and, per source and answer
// address, which of those names the address answered (no pointers: the
// larger table is not scanned by the collector).
type wordsTable struct {
	sources   *table[netip.Addr, wordSource]
	answers   *table[wordConnKey, wordAnswer]
	lastSweep time.Time
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

// wordsState is what SaveState keeps of the table.
type wordsState struct {
	Sources []entry[netip.Addr, wordSource]
	Answers []entry[wordConnKey, wordAnswer]
}

func newWordsTable(cfg Config) *wordsTable {
	return &wordsTable{
		sources: newTable[netip.Addr, wordSource](cfg.MaxSources),
		answers: newTable[wordConnKey, wordAnswer](cfg.MaxDomains),
	}
}

func (w *wordsTable) save() wordsState {
	if w == nil {
		return wordsState{}
	}
	return wordsState{Sources: w.sources.entries(), Answers: w.answers.entries()}
}

func loadWordsTable(s wordsState, cfg Config) *wordsTable {
	w := newWordsTable(cfg)
	w.sources.load(s.Sources)
	w.answers.load(s.Answers)
	return w
}

// dictDGA scores a DNS lookup; it must run before firstSeen marks reg as
// seen. q is the query, reg its registered domain.
func (e *Engine) dictDGA(ev *event.Event, q, reg string) {
	if e.words == nil {
		e.words = newWordsTable(e.cfg)
	}
	w := e.words
	w.sweep(e.now)
	var s *wordSource
	if src, ok := e.wordPairLookup(ev, q, reg); ok {
		s = w.sources.get(ev.SrcIP, e.now)
		s.add(src)
		if s.Last != reg {
			s.Last = strings.Clone(reg) // not the event's buffer
		}
		if src.Kind == wordResolved {
			w.answered(ev, src.Reg, e.now)
		}
	} else {
		if w.sources.len() == 0 {
			return
		}
		p, ok := w.sources.peek(ev.SrcIP)
		if !ok || p.Check == 0 || e.now.Unix() < p.Check {
			return
		}
		s = p
	}
	e.wordsVerdict(ev, s)
}

// wordPairLookup returns the name entry for a lookup of a word-pair
// domain new to the network, answered NXDOMAIN or with addresses.
func (e *Engine) wordPairLookup(ev *event.Event, q, reg string) (wordName, bool) {
	// A name in the clean-name cache was looked up before, so its domain
	// is not new: the common case ends here.
	if e.cleanHit {
		return wordName{}, false
	}
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
	h := e.hash(reg)
	if _, seen := e.seen.peek(h); seen {
		return wordName{}, false
	}
	if splitWords(mainLabel(reg)).Words == 0 || e.allowedInfra(q) {
		return wordName{}, false
	}
	return wordName{Reg: h, At: e.now.Unix(), Kind: kind}, true
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
func (w *wordsTable) answered(ev *event.Event, reg uint64, now time.Time) {
	src := ev.SrcIP.Unmap().As16()
	for _, ans := range ev.Answers {
		a, err := netip.ParseAddr(ans)
		if err != nil {
			continue
		}
		wa := w.answers.get(wordConnKey{Src: src, Dst: a.Unmap().As16()}, now)
		wa.Regs[wa.N%wordsAnswers] = reg
		if wa.N++; wa.N > wordsAnswers {
			wa.N = wordsAnswers + wa.N%wordsAnswers // full: N%4 goes on round the ring
		}
	}
}

// wordsConnected marks the word-pair names whose addresses ev connects
// to as used. It costs one map lookup while any resolution waits.
func (e *Engine) wordsConnected(ev *event.Event) {
	w := e.words
	if w == nil || w.answers.len() == 0 {
		return
	}
	wa, ok := w.answers.peek(wordConnKey{Src: ev.SrcIP.Unmap().As16(), Dst: ev.DestIP.Unmap().As16()})
	if !ok {
		return
	}
	s, ok := w.sources.peek(ev.SrcIP)
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

// wordsVerdict counts the source's names and raises dga_words when they
// are enough.
func (e *Engine) wordsVerdict(ev *event.Event, s *wordSource) {
	now := e.now.Unix()
	hour := now - int64(e.th.LongWindow/time.Second)
	day := now - int64(wordsDay/time.Second)
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
	case 3*strong >= 2*e.th.DGAWords && points >= float64(e.th.DGAWords):
		e.flag("dga_words")
		e.add(ThreatDGA, s.Last, "%d dictionary-word domains new to the network from %s in the last %s: %d NXDOMAIN, %d resolved and never connected to, %d connected to; the last %s (%s)",
			strong+used, ev.SrcIP, dur(e.th.LongWindow), nx, unused, used, s.Last, splitWords(label).format(label))
	case dayStrong >= e.th.DGAWordsDay:
		e.flag("dga_words")
		e.add(ThreatDGA, s.Last, "%d dictionary-word domains new to the network from %s in the last %s, NXDOMAIN or resolved and never connected to; the last %s (%s)",
			dayStrong, ev.SrcIP, dur(wordsDay), s.Last, splitWords(label).format(label))
	}
}

// sweep drops sources silent for a day and resolutions too old to wait
// for a connection, every few minutes of event time.
func (w *wordsTable) sweep(now time.Time) {
	if now.Sub(w.lastSweep) < 5*time.Minute {
		return
	}
	w.lastSweep = now
	w.sources.expire(now.Add(-wordsDay))
	w.answers.expire(now.Add(-wordsConnKeep))
}
