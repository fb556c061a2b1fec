package score

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"math/rand"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/scripts/genthreats/traffic"
)

// TestStateCarriesBeacons splits a beaconing host's connections over two
// runs, as a cron job over hourly logs would: neither half alone is enough,
// the second run with the first run's state is.
func TestStateCarriesBeacons(t *testing.T) {
	sc, _ := traffic.Find("beacon")
	g := traffic.New(3)
	g.Play([]traffic.Scenario{sc})
	evs := g.Events()
	half := len(evs) / 2
	cfg := DefaultConfig()
	cfg.Thresholds.BeaconMin = 12

	for _, part := range [][]event.Event{evs[:half], evs[half:]} {
		if got := count(run(t, cfg, part), "beacon"); got != 0 {
			t.Fatalf("a half alone raised %d beacon alerts", got)
		}
	}
	if count(acrossState(t, cfg, evs[:half], evs[half:]), "beacon") == 0 {
		t.Error("no beacon alert after loading the state")
	}
}

// acrossState scores first, saves the state, loads it into a new engine
// and returns the alerts of scoring second there.
func acrossState(t *testing.T, cfg Config, first, second []event.Event) []*event.Event {
	t.Helper()
	e1, _ := New(cfg)
	for i := range first {
		e1.Process(&first[i], func(*event.Event) {})
	}
	var buf bytes.Buffer
	if err := e1.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	e2, _ := New(cfg)
	if err := e2.LoadState(&buf); err != nil {
		t.Fatal(err)
	}
	var alerts []*event.Event
	for i := range second {
		e2.Process(&second[i], func(a *event.Event) { alerts = append(alerts, a) })
	}
	return alerts
}

func TestLoadStateRejectsGarbage(t *testing.T) {
	e, _ := New(DefaultConfig())
	if err := e.LoadState(bytes.NewReader([]byte("not a state file"))); err == nil {
		t.Error("want an error")
	}
}

// TestCaps checks that state stays within the caps and evictions are
// counted.
func TestCaps(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxSources, cfg.MaxDomains, cfg.MaxPairs = 50, 50, 50
	e, _ := New(cfg)
	evs := mixedEvents(20000)
	for i := range evs {
		e.Process(&evs[i], func(*event.Event) {})
	}
	st := e.Stats()
	if st.Sources > 50 || st.Domains > 50 || st.Pairs > 50 || st.Beacons > 50 {
		t.Errorf("state over its caps: %+v", st)
	}
	if st.Evicted == 0 {
		t.Errorf("no evictions counted: %+v", st)
	}
}

// TestSuppression: the same threat from the same source (here nordvpn.com,
// looked up and then connected to, twice) is one incident per suppression
// window: its first alert, then at Flush one update with the same id, a
// higher count and the subjects seen.
func TestSuppression(t *testing.T) {
	sc, _ := traffic.Find("vpn")
	g := traffic.New(1)
	g.Play([]traffic.Scenario{sc})
	evs := g.Events()
	evs = append(evs, evs...)
	alerts := run(t, DefaultConfig(), evs)
	if n := count(alerts, "vpn"); n != 2 {
		t.Fatalf("%d vpn alerts, want the first and one update", n)
	}
	first, upd := alerts[0], alerts[len(alerts)-1]
	if first.ID == "" || first.ID != upd.ID || first.Count != 1 || upd.Count <= 1 {
		t.Errorf("first %q count %d, update %q count %d", first.ID, first.Count, upd.ID, upd.Count)
	}
	if upd.FirstSeen != first.FirstSeen || upd.LastSeen.Before(upd.FirstSeen) || len(upd.Examples) == 0 || len(upd.Examples) > maxExamples {
		t.Errorf("update: firstSeen %v lastSeen %v examples %q", upd.FirstSeen, upd.LastSeen, upd.Examples)
	}
	// The same events give the same ids on every run.
	if again := run(t, DefaultConfig(), evs); again[0].ID != first.ID {
		t.Errorf("id %q on a second run, %q on the first", again[0].ID, first.ID)
	}
}

// TestIncidentWindow: findings after the suppression window open a new
// incident with a new id, and the old one's update is emitted when the
// clock passes its window, before the new alert.
func TestIncidentWindow(t *testing.T) {
	e, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var alerts []*event.Event
	emit := func(a *event.Event) { alerts = append(alerts, a) }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(at time.Duration, q string) *event.Event {
		return &event.Event{Type: event.TypeDNS, TS: t0.Add(at), SrcIP: netip.MustParseAddr("10.0.0.5"),
			DestIP: netip.MustParseAddr("10.0.0.1"), DestPort: 53, Proto: "udp", Query: q}
	}
	for i := 0; i < 15; i++ {
		e.Process(ev(time.Duration(i)*time.Minute, fmt.Sprintf("h%d.example.onion", i)), emit)
	}
	e.Process(ev(2*time.Hour, "late.example.onion"), emit)
	e.Flush(emit)
	if len(alerts) != 3 {
		t.Fatalf("%d alerts, want first, update, new incident", len(alerts))
	}
	if alerts[1].ID != alerts[0].ID || alerts[1].Count != 15 || len(alerts[1].Examples) != maxExamples {
		t.Errorf("update %q count %d examples %d", alerts[1].ID, alerts[1].Count, len(alerts[1].Examples))
	}
	if alerts[2].ID == alerts[0].ID || alerts[2].Count != 1 {
		t.Errorf("new incident %q count %d", alerts[2].ID, alerts[2].Count)
	}
}

func count(alerts []*event.Event, id string) int {
	n := 0
	for _, a := range alerts {
		if _, ok := a.Threats[id]; ok {
			n++
		}
	}
	return n
}

func TestDisabled(t *testing.T) {
	sc, _ := traffic.Find("vpn")
	g := traffic.New(1)
	g.Play([]traffic.Scenario{sc})
	cfg := DefaultConfig()
	cfg.Disabled = []string{"vpn"}
	if n := len(run(t, cfg, g.Events())); n != 0 {
		t.Errorf("%d alerts with vpn disabled", n)
	}
	cfg.Disabled = []string{"nope"}
	if _, err := New(cfg); err == nil {
		t.Error("want an error for an unknown threat id")
	}
}

// FuzzLoadState: a state file is read back from disk, where anything may
// have happened to it.
func FuzzLoadState(f *testing.F) {
	sc, _ := traffic.Find("scan")
	g := traffic.New(1)
	g.Play([]traffic.Scenario{sc})
	e, _ := New(DefaultConfig())
	evs := g.Events()
	for i := range evs {
		e.Process(&evs[i], func(*event.Event) {})
	}
	var buf bytes.Buffer
	e.SaveState(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, _ := New(DefaultConfig())
		if err := e.LoadState(bytes.NewReader(data)); err != nil {
			return
		}
		for i := range evs {
			e.Process(&evs[i], func(*event.Event) {})
		}
	})
}

func TestFirstSeen(t *testing.T) {
	e, _ := New(DefaultConfig())
	t0 := traffic.Start
	dns := func(at time.Duration, q string) []*event.Event {
		ev := event.Event{Type: event.TypeDNS, TS: t0.Add(at), SrcIP: netip.MustParseAddr("10.0.0.9"), DestIP: netip.MustParseAddr("10.0.0.2"), Query: q, QType: "A"}
		var out []*event.Event
		e.Process(&ev, func(a *event.Event) { out = append(out, a) })
		return out
	}
	has := func(as []*event.Event, flag string) bool {
		for _, a := range as {
			for _, f := range a.Flags {
				if f == flag {
					return true
				}
			}
		}
		return false
	}
	if as := dns(0, "a.oast.fun"); len(as) != 1 || has(as, "first_seen") {
		t.Errorf("first hour: %v", as)
	}
	if as := dns(2*time.Hour, "b.oast.site"); len(as) != 1 || !has(as, "first_seen") {
		t.Errorf("new domain after two hours: want first_seen, got %+v", as[0].Flags)
	}
	if as := dns(3*time.Hour, "c.oast.fun"); len(as) != 1 || has(as, "first_seen") {
		t.Errorf("known domain: %+v", as[0].Flags)
	}
}

// TestLoadStateOldVersion: a state file of version 4 (one table per kind
// of key, before detectors kept their own) is refused with a
// StateVersionError, which nfr-score turns into a hint to remove it.
func TestLoadStateOldVersion(t *testing.T) {
	var buf bytes.Buffer
	type pair struct{ Out, In int64 }
	old := struct {
		Version int
		Now     time.Time
		Sources []entry[netip.Addr, struct{ Lookups int }]
		Pairs   []entry[[16]byte, pair]
		Answers []entry[[16]byte, answer]
	}{Version: 4, Now: time.Unix(1700000000, 0).UTC(),
		Sources: []entry[netip.Addr, struct{ Lookups int }]{{K: netip.MustParseAddr("10.0.0.1"), V: struct{ Lookups int }{3}}},
		Pairs:   []entry[[16]byte, pair]{{V: pair{Out: 1}}},
		Answers: []entry[[16]byte, answer]{{V: answer{Reg: 1}}}}
	if err := gob.NewEncoder(&buf).Encode(&old); err != nil {
		t.Fatal(err)
	}
	e, _ := New(DefaultConfig())
	err := e.LoadState(&buf)
	var ve *StateVersionError
	if !errors.As(err, &ve) || ve.Have != 4 || ve.Want != stateVersion {
		t.Errorf("loading a version 4 state: %v, want a StateVersionError", err)
	}
}

// TestStateCarriesSlowTunnel: the day's window of a slow DNS tunnel (a
// name every 10 minutes, below the hour's count) is saved with the state,
// so runs over consecutive logs see it as one day.
func TestStateCarriesSlowTunnel(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	label := func() string {
		b := make([]byte, 30)
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyz234567"[r.Intn(32)]
		}
		return string(b)
	}
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	var evs []event.Event
	for i := 0; i < 144; i++ {
		evs = append(evs, event.Event{Type: event.TypeDNS, TS: start.Add(time.Duration(i) * 10 * time.Minute),
			SrcIP: netip.MustParseAddr("10.0.1.10"), DestIP: netip.MustParseAddr("10.0.0.2"), DestPort: 53, Proto: "udp",
			Query: fmt.Sprintf("%s.s.example-drip.net", label()), QType: "A", RCode: "NOERROR"})
	}
	half := len(evs) / 2
	cfg := DefaultConfig()
	for _, part := range [][]event.Event{evs[:half], evs[half:]} {
		if got := count(run(t, cfg, part), ThreatDNSTunnel); got != 0 {
			t.Fatalf("half of the day alone raised %d dns_tunnel alerts", got)
		}
	}
	if count(acrossState(t, cfg, evs[:half], evs[half:]), ThreatDNSTunnel) == 0 {
		t.Error("no dns_tunnel alert after loading the state")
	}
}

// TestLoadStateVersion5: a state file of version 5 (tumbling ICMP tunnel,
// spam and strobe windows, otherwise today's layout) is refused with a
// StateVersionError rather than read into the sliding windows.
func TestLoadStateVersion5(t *testing.T) {
	e, _ := New(DefaultConfig())
	var buf bytes.Buffer
	if err := e.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	var s savedState
	if err := gob.NewDecoder(&buf).Decode(&s); err != nil {
		t.Fatal(err)
	}
	s.Version = 5
	buf.Reset()
	if err := gob.NewEncoder(&buf).Encode(&s); err != nil {
		t.Fatal(err)
	}
	err := e.LoadState(&buf)
	var ve *StateVersionError
	if !errors.As(err, &ve) || ve.Have != 5 || ve.Want != stateVersion {
		t.Errorf("loading a version 5 state: %v, want a StateVersionError", err)
	}
}

// TestStateCarriesFirstSightings: what is kept of a first sighting
// without a table entry (the bit of a pair seen once, the DNS tunnel's
// first name of a source under a domain) is saved with the state: a
// threshold reached with the first run's one event alerts in the second.
func TestStateCarriesFirstSightings(t *testing.T) {
	name := func(i int) string {
		return fmt.Sprintf("%s.t.example-split.net", strings.Repeat(string(rune('a'+i%26)), 4)+"q7x2m9k4v8w3z6p5")
	}
	tests := []struct {
		name   string
		threat string
		n      int // events; the first run gets the first
		ev     func(i int) event.Event
	}{
		{"strobe: 1 refused attempt, then 199", ThreatStrobe, 200, func(i int) event.Event {
			return edgeFlow(time.Duration(i)*time.Second, "66.63.168.35", 5888, "REJ", 0, 0)
		}},
		{"dns_tunnel: 1 long name, then 19", ThreatDNSTunnel, 20, func(i int) event.Event {
			return edgeDNS(time.Duration(i)*time.Minute, name(i))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var evs []event.Event
			for i := 0; i < tt.n; i++ {
				evs = append(evs, tt.ev(i))
			}
			cfg := DefaultConfig()
			if got := count(run(t, cfg, evs[1:]), tt.threat); got != 0 {
				t.Fatalf("the second run alone raised %d %s alerts", got, tt.threat)
			}
			if count(run(t, cfg, evs), tt.threat) == 0 {
				t.Fatalf("all %d events in one run raised no %s alert", tt.n, tt.threat)
			}
			if count(acrossState(t, cfg, evs[:1], evs[1:]), tt.threat) == 0 {
				t.Errorf("no %s alert after loading the state", tt.threat)
			}
		})
	}
}
