package score

import (
	"strings"

	"github.com/nfr-project/nfr/pkg/event"
)

// Tor by its client's TLS: the names Tor clients put in their hellos are
// random (www.<base32>.com or .net) and never looked up. The tor
// detector remembers the names of that shape DNS asked for (cleared when
// full) and raises tor for a TLS server name of that shape nobody looked
// up. Tor's relays and directories by address and port are the lists'
// (lookup.go) and the ports' (ports.go) business.
type tor struct {
	looked map[uint64]struct{}
}

func newTor() *tor { return &tor{looked: map[uint64]struct{}{}} }

func (*tor) name() string      { return "tor" }
func (*tor) on() kinds         { return onDNS | onTLS }
func (*tor) threats() []string { return []string{ThreatTor} }

func (t *tor) observe(o *observation, f *findings) {
	if !torSNI(o.name) {
		return
	}
	if o.ev.Type == event.TypeDNS {
		if len(t.looked) >= maxNameCache {
			clear(t.looked)
		}
		t.looked[hash(o.name)] = struct{}{}
		return
	}
	if _, ok := t.looked[hash(o.name)]; !ok {
		f.add(ThreatTor, o.name, "SNI %s is a random name never looked up, as Tor clients send", o.name)
	}
}

// torSNI matches the names Tor clients put in their TLS hellos:
// www.<random base32>.com or .net.
func torSNI(sni string) bool {
	if !strings.HasPrefix(sni, "www.") || !(strings.HasSuffix(sni, ".com") || strings.HasSuffix(sni, ".net")) {
		return false
	}
	l := sni[4 : len(sni)-4]
	if len(l) < 8 || len(l) > 26 {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	s, st := dgaScore(l)
	return st.DigitIn && s >= 0.5 || s >= 0.8
}
