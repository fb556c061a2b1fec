package score

import (
	"time"
)

// firstSeen flags (first_seen) a registered domain no monitored host
// looked up before, once the engine has an hour of history to compare
// with. The set of domains seen is kept in the state file and capped at
// MaxDomains, oldest out.
type firstSeen struct {
	seen *table[uint64, struct{}]
}

func newFirstSeen(max int) *firstSeen { return &firstSeen{seen: newTable[uint64, struct{}](max)} }

func (*firstSeen) name() string           { return "first_seen" }
func (*firstSeen) on() kinds              { return onDNS }
func (*firstSeen) threats() []string      { return nil }
func (d *firstSeen) tables() []stateTable { return []stateTable{d.seen} }

func (d *firstSeen) observe(o *observation, f *findings) {
	// A cached name's domain has been seen.
	if !o.regOK || o.cleanHit {
		return
	}
	_, created := d.seen.getNew(hash(o.reg), o.now)
	o.newDomain = created
	if created && o.history >= time.Hour {
		f.flag("first_seen")
	}
}
