package score

import (
	"encoding/gob"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// A detector watches one behaviour (or one kind of evidence) in the
// events of the types it is on. It owns its state and thresholds, is
// given each event with the facts the engine worked out (observation) and
// appends what it finds to the event's findings; it never emits alerts
// itself.
type detector interface {
	name() string      // names its state in a state file
	on() kinds         // the event types it observes
	threats() []string // the catalog ids it raises
	observe(o *observation, f *findings)
}

// Optional parts of a detector.
type (
	// sweeper expires old state: every minute of event time, and with
	// long set every 15 minutes for the tables that live a day.
	sweeper interface {
		sweep(now time.Time, long bool)
	}
	// flusher has findings to make when the input ends (beacons scored
	// at Flush): it fills f (reset first) and calls raise with the event
	// they are about, as often as it has such events.
	flusher interface {
		flush(now time.Time, f *findings, raise func(ev *event.Event))
	}
	// keeper has state saved with --state: its tables, in a fixed order.
	keeper interface{ tables() []stateTable }
	// holder counts what it holds for Stats.
	holder interface{ held(st *Stats) }
)

// stateTable is a table as a state file holds it.
type stateTable interface {
	save(enc *gob.Encoder) error
	restore(dec *gob.Decoder) error
	evictions() int64
}

// kinds is a set of event types.
type kinds uint8

const (
	onDNS kinds = 1 << iota
	onIP
	onHTTP
	onTLS
)

func kindOf(t string) kinds {
	switch t {
	case event.TypeDNS:
		return onDNS
	case event.TypeIP:
		return onIP
	case event.TypeHTTP:
		return onHTTP
	case event.TypeTLS:
		return onTLS
	}
	return 0
}

// detectors returns every detector the engine runs, in the order each
// sees an event: the one place that lists them; a new detector is one
// line here. An event's findings, and so its alerts, come in this order,
// which keeps the order of the engine before detectors were types: for
// dns names (lists, lookalikes) then behaviour; for connections the lists
// first, then policy by port, then windows per source and per pair.
// Beacons are on twice, by name (HTTP and TLS) and by address (ip).
func (e *Engine) detectors() []detector {
	th, cfg := e.th, e.cfg
	return []detector{
		e.fingerprints,
		newDNSPolicy(),
		names{e.look},
		mining{e.look},
		newFirstSeen(cfg.MaxDomains),
		newDGA(th, cfg.MaxSources),
		newDictDGA(th, e.look, cfg),
		newTunnel(th, e.look, cfg.MaxDomains),
		beaconNames{e.beacons},
		newTor(),
		addresses{e.look},
		e.direct,
		newProbe(th, cfg.MaxSources),
		newICMP(th, cfg.MaxPairs),
		newSpam(th, cfg.MaxSources),
		ports{e.look},
		newScan(th, cfg.MaxSources),
		longConns{},
		newLateral(th, cfg.MaxSources),
		strobes{th},
		newUploads(th, e.answers, cfg.MaxPairs),
		beaconAddrs{e.beacons},
	}
}
