package score

import (
	"net/netip"
	"strings"
)

// Mining pools by name: a DNS query naming a pool (a strong word such as
// xmr or stratum, or a pool word with a coin) raises cryptomining, and the
// addresses it resolves to are remembered (with lookup's addresses of
// listed names, as "stratum"), so a connection to one of them on a
// stratum port raises it too (ports.go). Pool names on the built-in
// mining list are the lists' business.
type mining struct{ *lookup }

func (mining) name() string      { return "mining" }
func (mining) on() kinds         { return onDNS }
func (mining) threats() []string { return []string{ThreatMining} }

func (m mining) observe(o *observation, f *findings) {
	if !o.regOK {
		return
	}
	q := o.name
	strong, weak := o.clean.miningStrong, o.clean.miningWeak
	if !o.hasClean {
		strong, weak = miningName(q)
	}
	if !strong && !weak {
		return
	}
	if strong {
		f.add(ThreatMining, o.reg, "query %s names a mining pool (%s)", q, strongMiningWord(q))
	}
	for _, ans := range o.ev.Answers {
		if a, err := netip.ParseAddr(ans); err == nil {
			r := m.resolved.get(a, o.now)
			if r.Threat == "" || r.Threat == "stratum" {
				*r = resolvedInfo{Name: q, Threat: "stratum"}
			}
		}
	}
}

// Words in host names that mean mining: a strong one alone, or a pool word
// with a coin.
var (
	miningStrong = map[string]bool{"xmr": true, "monero": true, "stratum": true, "cryptonight": true, "nicehash": true,
		"xmrig": true, "randomx": true, "ethash": true, "minexmr": true, "moneroocean": true, "xmrpool": true}
	miningPool = map[string]bool{"pool": true, "mining": true, "miner": true, "mine": true, "pools": true, "solo": true}
	miningCoin = map[string]bool{"eth": true, "etc": true, "btc": true, "ltc": true, "zec": true, "rvn": true, "erg": true,
		"kas": true, "xmr": true, "dash": true, "doge": true, "bch": true, "zen": true, "flux": true, "beam": true, "grin": true, "ravencoin": true}
)

func nameWords(q string) []string {
	return strings.FieldsFunc(q, func(r rune) bool { return r == '.' || r == '-' || r == '_' || (r >= '0' && r <= '9') })
}

// miningName reports whether q carries a strong mining word, or a pool
// word (weak: pool.ntp.org) and, with a coin, a strong case.
func miningName(q string) (strong, weak bool) {
	if !strings.Contains(q, "xmr") && !strings.Contains(q, "pool") && !strings.Contains(q, "min") &&
		!strings.Contains(q, "strat") && !strings.Contains(q, "monero") && !strings.Contains(q, "hash") && !strings.Contains(q, "solo") {
		return false, false
	}
	pool, coin := false, false
	for _, w := range nameWords(q) {
		if miningStrong[w] {
			return true, true
		}
		pool = pool || miningPool[w]
		coin = coin || miningCoin[w]
	}
	return pool && coin, pool
}

func strongMiningWord(q string) string {
	for _, w := range nameWords(q) {
		if miningStrong[w] {
			return "the word " + w
		}
	}
	return "a pool word with a coin"
}
