package score

import (
	"bytes"
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

func TestSplitWords(t *testing.T) {
	tests := []struct{ label, want string }{
		{"riverbutter", "river + butter"},
		{"facebook", "face + book"},
		{"stackoverflow", "stack + overflow"}, // fewest words: not stack + over + flow
		{"bluegreenfish", "blue + green + fish"},
		{"weather", ""}, // one word
		{"google", ""},
		{"xkqzvwpl", ""},
		{"onetwo", "one + two"}, // the shortest: two words of three letters
		{"riverbutt3r", ""},
		{"river-butter", ""}, // not a DGA's shape: its words are joined
		{"abcdefghijklmnopqrstuvwxyzabcdefghijklmn", ""},
		{"", ""},
	}
	for _, tt := range tests {
		s := splitWords(tt.label)
		got := ""
		if s.Words > 0 {
			got = s.format(tt.label)
		}
		if got != tt.want {
			t.Errorf("splitWords(%q) = %q, want %q", tt.label, got, tt.want)
		}
	}
}

// FuzzSplitWords: a split covers the whole label with two or three list
// words of minWord letters or more, and no split with fewer words exists.
func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{"riverbutter", "bluegreenfish", "stackoverflow", "a", "aaaaaaaaaaaa", "zzzzzzzzz"} {
		f.Add(s)
	}
	set := wordSet()
	f.Fuzz(func(t *testing.T, label string) {
		s := splitWords(label)
		if s.Words == 0 {
			return
		}
		if s.Words < 2 || s.Words > maxWords {
			t.Fatalf("%q: %d words", label, s.Words)
		}
		start := 0
		for i := 0; i < s.Words; i++ {
			w := label[start:s.Ends[i]]
			if len(w) < minWord {
				t.Fatalf("%q: word %q too short", label, w)
			}
			if _, ok := set[w]; !ok {
				t.Fatalf("%q: %q is not a list word", label, w)
			}
			start = int(s.Ends[i])
		}
		if start != len(label) {
			t.Fatalf("%q: split ends at %d", label, start)
		}
		if _, ok := set[label]; ok {
			t.Fatalf("%q is one word", label)
		}
		if s.Words == 3 {
			for i := minWord; i <= len(label)-minWord; i++ {
				_, a := set[label[:i]]
				_, b := set[label[i:]]
				if a && b {
					t.Fatalf("%q: three words where two do", label)
				}
			}
		}
	})
}

func BenchmarkSplitWords(b *testing.B) {
	labels := []string{"riverbutter", "stackoverflow", "bluegreenfish", "xkqzvwplmt", "googleapis", "a1b2c3"}
	wordSet()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		splitWords(labels[i%len(labels)])
	}
}

// dictWords are the test generator's words: not the ones of
// scripts/genthreats, so the tests do not repeat its variant.
var dictWords = []string{"apple", "brave", "cloud", "dream", "eagle", "frost", "grape", "honey", "island", "jungle",
	"lemon", "meadow", "north", "ocean", "pepper", "quiet", "rocket", "stone", "tiger", "velvet"}

// wordEvents makes word-pair lookups from src: n of them d apart from
// start, the i-th answered by how(i): "nx", "unused" (resolved, never
// connected to) or "used" (resolved, then a TLS session to it).
type wordLookups struct {
	src   string
	start time.Duration
	n     int
	d     time.Duration
	words int // words per name: 2 or 3
	how   func(i int) string
	name  func(i int) string // a fixed list instead of generated names
	qtype string             // default A
}

func (w wordLookups) events(r *rand.Rand) (evs []event.Event) {
	src := netip.MustParseAddr(w.src)
	for i := 0; i < w.n; i++ {
		at := edgeT0.Add(w.start + time.Duration(i)*w.d)
		var name string
		if w.name != nil {
			name = w.name(i)
		} else {
			var b strings.Builder
			for j := 0; j < max(w.words, 2); j++ {
				b.WriteString(dictWords[r.Intn(len(dictWords))])
			}
			name = b.String() + ".net"
		}
		a := fmt.Sprintf("198.51.100.%d", i%250+1)
		ev := event.Event{Type: event.TypeDNS, TS: at, SrcIP: src, DestIP: netip.MustParseAddr("10.1.0.1"),
			DestPort: 53, Proto: "udp", Query: name, QType: "A", RCode: "NOERROR"}
		if w.qtype != "" {
			ev.QType = w.qtype
		}
		switch w.how(i) {
		case "nx":
			ev.RCode = "NXDOMAIN"
			evs = append(evs, ev)
		case "unused":
			ev.Answers = []string{a}
			evs = append(evs, ev)
		case "used":
			ev.Answers = []string{a}
			evs = append(evs, ev, event.Event{Type: event.TypeIP, TS: at.Add(300 * time.Millisecond), SrcIP: src, SrcPort: 50000 + uint16(i),
				DestIP: netip.MustParseAddr(a), DestPort: 443, Proto: "tcp", ConnState: "SF", BytesOut: 2000, BytesIn: 40000, PktsOut: 12, PktsIn: 30})
		}
	}
	return evs
}

func always(s string) func(int) string { return func(int) string { return s } }

// popularPairs are real sites whose names are two words of the list.
var popularPairs = []string{"facebook.com", "youtube.com", "dropbox.com", "salesforce.com", "mailchimp.com", "wordpress.com",
	"stackoverflow.com", "firefox.com", "bestbuy.com", "homedepot.com", "tripadvisor.com", "foxnews.com", "theguardian.com",
	"glassdoor.com", "squarespace.com", "hubspot.com", "sharepoint.com", "soundcloud.com", "bandcamp.com", "minecraft.net",
	"playstation.com", "autodesk.com", "trustpilot.com", "surveymonkey.com", "nextdoor.com", "photobucket.com", "stackexchange.com",
	"serverfault.com", "superuser.com", "mathoverflow.net", "snapchat.com", "doubleclick.net", "cloudflare.com", "bitbucket.org",
	"paypal.com", "livejournal.com", "onedrive.com", "substack.com", "bluehost.com", "hotmail.com"}

// TestDictDGA plays the edges of the variant space dictdga.go claims.
func TestDictDGA(t *testing.T) {
	browse := func(start time.Duration, n int, d time.Duration) wordLookups {
		return wordLookups{src: "10.1.0.5", start: start, n: n, d: d, how: always("used"), name: func(i int) string {
			return "www." + popularPairs[i%len(popularPairs)]
		}}
	}
	tests := []struct {
		name    string
		want    bool
		lookups []wordLookups
	}{
		{"10 NXDOMAIN in 50 min", true, []wordLookups{{src: "10.1.0.5", n: 10, d: 5 * time.Minute, how: always("nx")}}},
		{"9 NXDOMAIN in an hour", false, []wordLookups{{src: "10.1.0.5", n: 9, d: 6 * time.Minute, how: always("nx")}}},
		{"10 resolved, never connected to", true, []wordLookups{{src: "10.1.0.5", n: 10, d: 5 * time.Minute, how: always("unused")}}},
		{"9 resolved, never connected to", false, []wordLookups{{src: "10.1.0.5", n: 9, d: 5 * time.Minute, how: always("unused")}}},
		{"30 resolved and each connected to", false, []wordLookups{{src: "10.1.0.5", n: 30, d: 2 * time.Minute, how: always("used")}}},
		{"three words, 12 NXDOMAIN", true, []wordLookups{{src: "10.1.0.5", n: 12, d: 4 * time.Minute, words: 3, how: always("nx")}}},
		{"half NXDOMAIN, half resolved unused, one a minute", true, []wordLookups{{src: "10.1.0.5", n: 30, d: time.Minute,
			how: func(i int) string { return []string{"nx", "unused"}[i%2] }}}},
		{"30 over 6 hours (5 an hour), NXDOMAIN", true, []wordLookups{{src: "10.1.0.5", n: 30, d: 12 * time.Minute, how: always("nx")}}},
		{"23 in 23 hours, NXDOMAIN", false, []wordLookups{{src: "10.1.0.5", n: 23, d: time.Hour, how: always("nx")}}},
		{"10 NXDOMAIN mixed with browsing 40 two-word sites", true, []wordLookups{
			browse(0, 40, 90*time.Second), {src: "10.1.0.5", start: 45 * time.Second, n: 10, d: 5 * time.Minute, how: always("nx")}}},
		{"40 popular two-word sites in an hour", false, []wordLookups{browse(0, 40, 90*time.Second)}},
		{"a dozen new two-word sites and 3 typos (NXDOMAIN)", false, []wordLookups{
			browse(0, 12, 5*time.Minute), {src: "10.1.0.5", start: time.Minute, n: 3, d: 15 * time.Minute, how: always("nx")}}},
		{"6 NXDOMAIN and 40 sites visited", false, []wordLookups{
			browse(0, 40, 90*time.Second), {src: "10.1.0.5", start: time.Minute, n: 6, d: 9 * time.Minute, how: always("nx")}}},
		{"CDN and ad names a page pulls in, connected to", false, []wordLookups{{src: "10.1.0.5", n: 14, d: 2 * time.Second, how: always("used"),
			name: func(i int) string {
				return []string{"d1.cloudfront.net", "e7.edgekey.net", "a1.edgesuite.net", "widgets.outbrain.com", "sb.scorecardresearch.com",
					"ad.doubleclick.net", "x.azureedge.net", "cdn.cookielaw.org", "js.hubspot.com", "static.squarespace.com",
					"i.bandcamp.com", "media.glassdoor.com", "a.trustpilot.com", "s.mailchimp.com"}[i]
			}}}},
		{"a mail server checking 30 senders' domains (MX, NXDOMAIN)", false, []wordLookups{
			{src: "10.1.0.25", n: 30, d: time.Minute, how: always("nx"), qtype: "MX"}}},
		{"the resolver forwarding its clients' lookups", false, []wordLookups{
			browse(0, 40, 90*time.Second),
			{src: "10.1.0.1", start: 20 * time.Millisecond, n: 40, d: 90 * time.Second, how: always("unused"), name: func(i int) string {
				return "www." + popularPairs[i%len(popularPairs)]
			}}}},
		{"names other hosts looked up first", false, func() []wordLookups {
			names := make([]string, 12)
			r := rand.New(rand.NewSource(3))
			for i := range names {
				names[i] = dictWords[r.Intn(20)] + dictWords[r.Intn(20)] + "hub.com"
			}
			return []wordLookups{
				{src: "10.1.0.7", n: 12, d: time.Minute, how: always("used"), name: func(i int) string { return "www." + names[i] }},
				{src: "10.1.0.5", start: 20 * time.Minute, n: 12, d: time.Minute, how: always("unused"), name: func(i int) string { return "cdn." + names[i] }},
			}
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(1))
			var evs []event.Event
			for _, l := range tt.lookups {
				evs = append(evs, l.events(r)...)
			}
			// One ordinary lookup an hour later decides the last
			// resolutions.
			last := edgeDNS(0, "example.org", "93.184.216.34")
			slices.SortStableFunc(evs, func(a, b event.Event) int { return a.TS.Compare(b.TS) })
			last.TS = evs[len(evs)-1].TS.Add(2 * time.Minute)
			evs = append(evs, last)
			alerts := run(t, DefaultConfig(), evs)
			got := 0
			var reasons []string
			for _, a := range alerts {
				if slices.Contains(a.Flags, "dga_words") && a.Count == 1 {
					got++
				}
				reasons = append(reasons, ids(a)+": "+a.Reason)
			}
			if testing.Verbose() && got > 0 {
				t.Log(reasons[0])
			}
			if (got > 0) != tt.want {
				t.Errorf("%d dga_words alerts, want alert %v; alerts %q", got, tt.want, reasons)
			}
		})
	}
}

// TestDictDGAState: the names before a state save count after the load.
func TestDictDGAState(t *testing.T) {
	evs := wordLookups{src: "10.1.0.5", n: 10, d: 4 * time.Minute, how: always("nx")}.events(rand.New(rand.NewSource(1)))
	count := func(alerts []*event.Event) (n int) {
		for _, a := range alerts {
			if slices.Contains(a.Flags, "dga_words") {
				n++
			}
		}
		return n
	}
	e1, _ := New(DefaultConfig())
	var alerts []*event.Event
	emit := func(a *event.Event) { alerts = append(alerts, a) }
	for i := range evs[:6] {
		e1.Process(&evs[i], emit)
	}
	var buf bytes.Buffer
	if err := e1.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	e2, _ := New(DefaultConfig())
	if err := e2.LoadState(&buf); err != nil {
		t.Fatal(err)
	}
	for i := range evs[6:] {
		e2.Process(&evs[6+i], emit)
	}
	if count(alerts) == 0 {
		t.Errorf("no dga_words alert across a state save")
	}
}

// BenchmarkProcessWordPairs is the worst case of dictdga.go: every event a
// lookup of a word-pair name new to the network, from 1000 sources, or a
// connection to its answer.
func BenchmarkProcessWordPairs(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	var evs []event.Event
	for s := 0; s < 1000; s++ {
		l := wordLookups{src: fmt.Sprintf("10.2.%d.%d", s/250, s%250+1), start: time.Duration(s) * time.Millisecond, n: 50, d: time.Minute,
			words: 2 + s%2, how: func(i int) string { return []string{"nx", "unused", "used"}[i%3] }}
		evs = append(evs, l.events(r)...)
	}
	slices.SortStableFunc(evs, func(a, b event.Event) int { return a.TS.Compare(b.TS) })
	benchProcess(b, evs)
}
