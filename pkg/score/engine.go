// Package score is NFR's built-in analytics engine. It scores dns, ip, http
// and tls events for threats and turns the ones that carry evidence into
// alerts: threat-intelligence matches (built-in lists and user feeds),
// name statistics (DGA, lookalike brands), and behaviour over time kept in
// bounded per-source, per-domain and per-pair windows (DNS and ICMP
// tunnelling, scanning, spam, uploads, beaconing by address and by name,
// strobes, direct C2, lateral movement, probing), one detector per file,
// each under a threat-id constant of the catalog. Findings of one threat
// from one source fold into incidents (incident.go) with stable ids.
//
// The engine is driven by event time (the events' ts), not the clock, so
// logs replayed hours later give the same alerts as the live stream did;
// Filter feeds it in time order through a bounded reorder buffer
// (reorder.go) and merges several inputs by ts. An Engine is not safe for
// concurrent use; nfr-engine serialises calls.
package score

import (
	"fmt"
	"math/bits"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/intel"
)

// Config configures an Engine. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	// Feeds holds the user feeds' indicators; nil means none. The
	// built-in lists are always used.
	Feeds *intel.Set
	// Internal lists the networks of the monitored hosts; default the
	// private and special-purpose ranges.
	Internal []netip.Prefix
	// Suppress is how long an incident (one threat from one source) stays
	// open after its first alert, folding later findings into one update.
	Suppress time.Duration
	// Disabled lists threat ids never raised.
	Disabled []string
	// Allow holds the score.allow rules: findings they match are dropped.
	Allow []Rule

	// Caps of the behavioural state; eviction beyond them is counted.
	MaxSources int
	MaxDomains int
	MaxPairs   int

	Thresholds Thresholds
}

// Thresholds tune the behavioural detectors.
type Thresholds struct {
	Window         time.Duration // window of the ICMP tunnel detector
	LongWindow     time.Duration // sliding window of the DGA, NXDOMAIN, DNS tunnel and scan counters
	Horizon        time.Duration // sliding long horizon of the slow counters (the *Day thresholds)
	DGANames       int           // DGA-looking names from one source in Window
	NXDomains      int           // NXDOMAIN answers for distinct domains from one source in Window
	DGAWords       int           // dictionary-word domains from one source in LongWindow (dictdga.go)
	DGAWordsDay    int           // of them NXDOMAIN or never connected to, in 24 h
	TunnelNames    int           // unique names under one domain in Window
	TunnelLen      float64       // their mean length (characters before the domain)
	TunnelEntropy  float64       // their mean entropy, bits per character
	TunnelNamesDay int           // unique names under one domain from one source in Horizon, same length and entropy
	NXDomainsDay   int           // NXDOMAIN answers for distinct domains from one source in Horizon...
	NXRatio        float64       // ...being this share of its lookups or more
	ScanPorts      int           // unanswered ports of one host from one source in Window
	ScanHosts      int           // unanswered hosts on one port from one source in Window
	ScanPortsDay   int           // unanswered ports of one host from one source in Horizon
	ScanHostsDay   int           // unanswered hosts on one port from one source in Horizon
	ICMPPackets    int           // echo packets to one host in Window
	ICMPPayload    int64         // their mean size, bytes
	SpamServers    int           // external SMTP servers from one source in SpamWindow
	SpamWindow     time.Duration //
	UploadBytes    int64         // bytes sent to one external host and port in UploadWindow
	UploadWindow   time.Duration //
	BeaconMin      int           // connections before a pair is scored
	BeaconScore    float64       // RITA-style score from 0 to 1 that raises an alert
	BeaconMinSpan  time.Duration // beacons must span at least this
	BeaconInterval time.Duration // and repeat no faster than this on average
	StrobeFailed   int           // refused or unanswered attempts to one destination in StrobeWindow
	StrobeConns    int           // connections of any kind to one destination in StrobeWindow
	StrobeWindow   time.Duration //
}

// DefaultConfig returns the defaults config.yml documents.
func DefaultConfig() Config {
	return Config{
		Internal:   DefaultInternal(),
		Suppress:   time.Hour,
		MaxSources: 100000,
		MaxDomains: 100000,
		MaxPairs:   200000,
		Thresholds: Thresholds{
			Window:         5 * time.Minute,
			LongWindow:     time.Hour,
			Horizon:        24 * time.Hour,
			DGANames:       3,
			NXDomains:      10,
			DGAWords:       10,
			DGAWordsDay:    24,
			TunnelNames:    20,
			TunnelLen:      16,
			TunnelEntropy:  3.2,
			TunnelNamesDay: 100,
			NXDomainsDay:   50,
			NXRatio:        0.1,
			ScanPorts:      15,
			ScanHosts:      30,
			ScanPortsDay:   30,
			ScanHostsDay:   100,
			ICMPPackets:    10,
			ICMPPayload:    200,
			SpamServers:    5,
			SpamWindow:     time.Hour,
			UploadBytes:    50 << 20,
			UploadWindow:   time.Hour,
			BeaconMin:      10,
			BeaconScore:    0.78,
			BeaconMinSpan:  5 * time.Minute,
			BeaconInterval: 10 * time.Second,
			StrobeFailed:   200,
			StrobeConns:    3600,
			StrobeWindow:   time.Hour,
		},
	}
}

// DefaultInternal returns the private and special-purpose networks.
func DefaultInternal() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
		"127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128"} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}

// Stats counts what the engine did and holds.
type Stats struct {
	Events     int64
	Alerts     int64
	Suppressed int64            // findings folded into an open incident
	Allowed    int64            // findings a score.allow rule dropped
	Updates    int64            // incident updates emitted
	ByThreat   map[string]int64 // alerts per threat id
	Sources    int              // per-source windows held, summed over the detectors that keep them
	Domains    int              // per-source-and-domain tunnel windows held
	Pairs      int              // per-pair windows held (pairs.go and ICMP)
	Beacons    int              // beacon pairs (by address or name) held
	Evicted    int64            // windows dropped at a cap
	Indicators int              // feed and built-in indicators loaded
}

// Engine scores events. It routes each event to the detectors of its
// type (registry.go) with the facts they share (observation.go), folds
// their findings into incidents (incident.go), applies the allow rules and
// the disabled ids, and emits.
type Engine struct {
	// Explain, if set, is told what became of every finding: the threat,
	// the decision (alert, incident update, folded, allowed by a rule) and
	// the finding's reason. nfr-score --explain prints it.
	Explain func(ev *event.Event, threat, decision, reason string)

	rules    []Rule
	cfg      Config
	th       Thresholds
	disabled map[string]bool
	nets     networks

	now           time.Time
	lastSweep     time.Time
	lastLongSweep time.Time
	since         time.Time // event time the engine's history starts

	// What several detectors share: the lists, the pairs' state, the
	// addresses of DNS answers.
	look    *lookup
	pairs   *pairs
	answers *answers
	// Detectors other parts of the engine reach.
	direct       *direct
	beacons      *beacons
	fingerprints *fingerprints

	all       []detector
	route     [4][]detector // by kindOf bit
	incidents *table[uint64, incident]
	pending   []*event.Event // updates of incidents reopened before the sweep saw them

	stats Stats
	obs   observation
	found findings
}

// New returns an Engine for cfg.
func New(cfg Config) (*Engine, error) {
	def := DefaultConfig()
	if cfg.Internal == nil {
		cfg.Internal = def.Internal
	}
	if cfg.Suppress == 0 {
		cfg.Suppress = def.Suppress
	}
	if cfg.MaxSources <= 0 {
		cfg.MaxSources = def.MaxSources
	}
	if cfg.MaxDomains <= 0 {
		cfg.MaxDomains = def.MaxDomains
	}
	if cfg.MaxPairs <= 0 {
		cfg.MaxPairs = def.MaxPairs
	}
	fillThresholds(&cfg.Thresholds, def.Thresholds)
	e := &Engine{
		cfg:       cfg,
		th:        cfg.Thresholds,
		disabled:  map[string]bool{},
		nets:      networks(cfg.Internal),
		rules:     cfg.Allow,
		incidents: newTable[uint64, incident](cfg.MaxPairs),
	}
	for _, id := range cfg.Disabled {
		if _, ok := Lookup(id); !ok {
			return nil, fmt.Errorf("unknown threat %q", id)
		}
		e.disabled[id] = true
	}
	b, _, err := intel.Builtin()
	if err != nil {
		return nil, fmt.Errorf("built-in lists: %v", err)
	}
	e.found.disabled = e.disabled
	e.obs.nameHits.disabled = e.disabled
	e.stats.ByThreat = map[string]int64{}
	e.look = newLookup(b, cfg.Feeds, cfg.MaxDomains)
	e.pairs = newPairs(cfg.MaxPairs)
	e.answers = newAnswers(cfg.MaxDomains, e.look)
	e.direct = newDirect(e.pairs, e.answers, cfg.MaxSources)
	e.beacons = newBeacons(cfg, e.look, e.pairs, e.answers)
	e.fingerprints = newFingerprints(cfg.MaxDomains)
	e.all = e.detectors()
	for _, d := range e.all {
		for i := range e.route {
			if d.on()&(1<<i) != 0 {
				e.route[i] = append(e.route[i], d)
			}
		}
	}
	return e, nil
}

func fillThresholds(t *Thresholds, d Thresholds) {
	set := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	setD := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	setF := func(p *float64, v float64) {
		if *p <= 0 {
			*p = v
		}
	}
	setI := func(p *int64, v int64) {
		if *p <= 0 {
			*p = v
		}
	}
	setD(&t.Window, d.Window)
	setD(&t.LongWindow, d.LongWindow)
	setD(&t.Horizon, d.Horizon)
	set(&t.TunnelNamesDay, d.TunnelNamesDay)
	set(&t.NXDomainsDay, d.NXDomainsDay)
	setF(&t.NXRatio, d.NXRatio)
	set(&t.ScanPortsDay, d.ScanPortsDay)
	set(&t.ScanHostsDay, d.ScanHostsDay)
	set(&t.DGANames, d.DGANames)
	set(&t.NXDomains, d.NXDomains)
	set(&t.DGAWords, d.DGAWords)
	set(&t.DGAWordsDay, d.DGAWordsDay)
	set(&t.TunnelNames, d.TunnelNames)
	setF(&t.TunnelLen, d.TunnelLen)
	setF(&t.TunnelEntropy, d.TunnelEntropy)
	set(&t.ScanPorts, d.ScanPorts)
	set(&t.ScanHosts, d.ScanHosts)
	set(&t.ICMPPackets, d.ICMPPackets)
	setI(&t.ICMPPayload, d.ICMPPayload)
	set(&t.SpamServers, d.SpamServers)
	setD(&t.SpamWindow, d.SpamWindow)
	setI(&t.UploadBytes, d.UploadBytes)
	setD(&t.UploadWindow, d.UploadWindow)
	set(&t.BeaconMin, d.BeaconMin)
	setF(&t.BeaconScore, d.BeaconScore)
	setD(&t.BeaconMinSpan, d.BeaconMinSpan)
	setD(&t.BeaconInterval, d.BeaconInterval)
	set(&t.StrobeFailed, d.StrobeFailed)
	set(&t.StrobeConns, d.StrobeConns)
	setD(&t.StrobeWindow, d.StrobeWindow)
}

// SetFeeds replaces the user feeds (after a reload).
func (e *Engine) SetFeeds(s *intel.Set) { e.look.setFeeds(s) }

// Stats returns the counters and state sizes.
func (e *Engine) Stats() Stats {
	st := e.stats
	st.ByThreat = make(map[string]int64, len(e.stats.ByThreat))
	for k, v := range e.stats.ByThreat {
		st.ByThreat[k] = v
	}
	st.Pairs = e.pairs.t.len()
	st.Evicted = e.incidents.evicted + e.pairs.t.evicted + e.answers.t.evicted
	for _, d := range e.all {
		if h, ok := d.(holder); ok {
			h.held(&st)
		}
		if k, ok := d.(keeper); ok {
			for _, t := range k.tables() {
				st.Evicted += t.evictions()
			}
		}
	}
	st.Indicators = e.look.builtin.Len()
	if e.look.feeds != nil {
		st.Indicators += e.look.feeds.Len()
	}
	return st
}

// Process scores one event and calls emit for every alert it raises
// (behavioural detections may fire on a later event's Process or on
// Advance/Flush). The alert is a fresh Event that emit may keep.
func (e *Engine) Process(ev *event.Event, emit func(alert *event.Event)) {
	e.stats.Events++
	if ev.TS.After(e.now) {
		e.Advance(ev.TS, emit)
	}
	k := kindOf(ev.Type)
	if k == 0 || !e.observe(ev, &e.obs) {
		return
	}
	f := &e.found
	f.reset()
	for _, d := range e.route[bits.TrailingZeros8(uint8(k))] {
		d.observe(&e.obs, f)
	}
	if len(f.hits) > 0 {
		e.raise(ev, f, emit)
	}
}

// Advance moves the engine's clock to now (event time) and expires old
// state. Live callers call it on a timer so quiet periods still expire.
func (e *Engine) Advance(now time.Time, emit func(alert *event.Event)) {
	if !now.After(e.now) {
		return
	}
	e.now = now
	if e.lastSweep.IsZero() {
		e.lastSweep = now
	}
	if e.since.IsZero() {
		e.since = now
	}
	if now.Sub(e.lastSweep) < time.Minute {
		return
	}
	e.lastSweep = now
	e.closeIncidents(now, emit)
	e.incidents.expire(now.Add(-e.cfg.Suppress))
	// Pairs carry beacons, which span hours: they are kept a day, and the
	// big tables are swept less often.
	long := now.Sub(e.lastLongSweep) >= 15*time.Minute
	if long {
		e.lastLongSweep = now
		e.pairs.t.expire(now.Add(-24 * time.Hour))
		e.answers.t.expire(now.Add(-24 * time.Hour))
	}
	for _, d := range e.all {
		if s, ok := d.(sweeper); ok {
			s.sweep(now, long)
		}
	}
}

// Flush is called at the end of input: it scores the beacon pairs with
// connections since their last scoring and emits the updates of the
// incidents that folded findings since their first alert.
func (e *Engine) Flush(emit func(alert *event.Event)) {
	f := &findings{disabled: e.disabled}
	for _, d := range e.all {
		if fl, ok := d.(flusher); ok {
			fl.flush(e.now, f, func(ev *event.Event) { e.raise(ev, f, emit) })
		}
	}
	e.closeIncidents(time.Time{}, emit)
}

// raise folds each finding of ev into its incident and emits an alert for
// every incident it opens.
func (e *Engine) raise(ev *event.Event, f *findings, emit func(*event.Event)) {
	var flags []string
	if len(f.flags) > 0 {
		flags = append([]string(nil), f.flags...)
		sort.Strings(flags)
	}
	for _, h := range f.hits {
		if i := e.allowedBy(h, ev); i >= 0 {
			e.stats.Allowed++
			e.explain(ev, h, fmt.Sprintf("allowed by score.allow[%d] (%s)", i, e.rules[i].Comment))
			continue
		}
		t, _ := Lookup(h.id)
		a := copyEvent(ev)
		a.Type = event.TypeAlert
		a.EventType = ev.Type
		a.Severity = t.Severity
		if !t.Policy && a.Severity < 5 && raising(flags) {
			a.Severity++
		}
		a.Threats = map[string]event.Threat{h.id: {Title: t.Title, Severity: t.Severity, Policy: t.Policy}}
		a.Flags = flags
		a.Reason = h.reason
		in, opened := e.fold(h, ev)
		in.Latest = a
		if !opened {
			e.stats.Suppressed++
			e.explain(ev, h, fmt.Sprintf("folded into incident %s (count %d)", in.ID, in.Count))
			continue
		}
		e.explain(ev, h, fmt.Sprintf("alert, incident %s", in.ID))
		in.stamp(a)
		e.stats.ByThreat[h.id]++
		e.stats.Alerts++
		emit(a)
	}
}

// raising reports whether flags hold a sign that the destination or the
// client is new to the network (first_seen, rare_ja4, rare_user_agent):
// weak alone, it makes a threat found in the same event likelier to be
// what it looks like, so the alert's severity goes one up (the threat's
// own severity in threats stays the catalog's).
func raising(flags []string) bool {
	for _, f := range flags {
		switch f {
		case "first_seen", "rare_ja4", "rare_user_agent":
			return true
		}
	}
	return false
}

func copyEvent(ev *event.Event) *event.Event {
	a := *ev
	a.Answers = append([]string(nil), ev.Answers...)
	a.TTLs = append([]uint32(nil), ev.TTLs...)
	a.ALPN = append([]string(nil), ev.ALPN...)
	a.Groups = append([]string(nil), ev.Groups...)
	if len(ev.Answers) == 0 {
		a.Answers = nil
	}
	if len(ev.TTLs) == 0 {
		a.TTLs = nil
	}
	if len(ev.ALPN) == 0 {
		a.ALPN = nil
	}
	if len(ev.Groups) == 0 {
		a.Groups = nil
	}
	a.Flags, a.Threats, a.Reason, a.Severity = nil, nil, "", 0
	return &a
}

// FormatStats renders the counters as one line for --stats.
func FormatStats(st Stats, lines, written int64) string {
	ids := make([]string, 0, len(st.ByThreat))
	for id := range st.ByThreat {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var by strings.Builder
	for i, id := range ids {
		if i > 0 {
			by.WriteString(", ")
		}
		fmt.Fprintf(&by, "%s %d", id, st.ByThreat[id])
	}
	if by.Len() == 0 {
		by.WriteString("none")
	}
	return fmt.Sprintf("%d events, %d alerts written (%s), %d folded into incidents, %d incident updates, %d allowed by rules; state: %d sources, %d domains, %d pairs, %d beacon pairs, %d evicted; %d indicators",
		lines, written, by.String(), st.Suppressed, st.Updates, st.Allowed, st.Sources, st.Domains, st.Pairs, st.Beacons, st.Evicted, st.Indicators)
}
