package score

import (
	"encoding/gob"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// stateVersion changes whenever the saved layout does.
const stateVersion = 1

type savedState struct {
	Version  int
	Now      time.Time
	Sources  []entry[netip.Addr, srcState]
	Domains  []entry[string, domState]
	Pairs    []entry[pairKey, pairState]
	Resolved []entry[netip.Addr, resolvedInfo]
	Suppress []entry[uint64, time.Time]
}

// SaveState writes the behavioural windows so a later run (a cron job over
// the next hour's logs) carries on where this one stopped.
func (e *Engine) SaveState(w io.Writer) error {
	s := savedState{
		Version:  stateVersion,
		Now:      e.now,
		Sources:  e.sources.entries(),
		Domains:  e.domains.entries(),
		Pairs:    e.pairs.entries(),
		Resolved: e.resolved.entries(),
		Suppress: e.suppress.entries(),
	}
	return gob.NewEncoder(w).Encode(&s)
}

// LoadState reads what SaveState wrote, replacing the current windows.
func (e *Engine) LoadState(r io.Reader) error {
	var s savedState
	if err := gob.NewDecoder(r).Decode(&s); err != nil {
		return fmt.Errorf("reading state: %v", err)
	}
	if s.Version != stateVersion {
		return fmt.Errorf("state version %d, want %d", s.Version, stateVersion)
	}
	e.sources = newTable[netip.Addr, srcState](e.cfg.MaxSources)
	e.domains = newTable[string, domState](e.cfg.MaxDomains)
	e.pairs = newTable[pairKey, pairState](e.cfg.MaxPairs)
	e.resolved = newTable[netip.Addr, resolvedInfo](e.cfg.MaxDomains)
	e.sources.load(s.Sources)
	e.domains.load(s.Domains)
	e.pairs.load(s.Pairs)
	e.resolved.load(s.Resolved)
	e.suppress = newTable[uint64, time.Time](e.cfg.MaxPairs)
	e.suppress.load(s.Suppress)
	if s.Now.After(e.now) {
		e.now = s.Now
	}
	return nil
}
