package score

import (
	"bytes"
	"net/netip"
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
	e1, _ := New(cfg)
	for i := range evs[:half] {
		e1.Process(&evs[i], func(*event.Event) {})
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
	for i := half; i < len(evs); i++ {
		e2.Process(&evs[i], func(a *event.Event) { alerts = append(alerts, a) })
	}
	if count(alerts, "beacon") == 0 {
		t.Errorf("no beacon alert after loading the state; stats %+v", e2.Stats())
	}
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
	if st.Sources > 50 || st.Domains > 50 || st.Pairs > 50 {
		t.Errorf("state over its caps: %+v", st)
	}
	if st.Evicted == 0 {
		t.Errorf("no evictions counted: %+v", st)
	}
}

// TestSuppression: the same threat on the same source and subject (here
// nordvpn.com, looked up and then connected to, twice) raises one alert per
// suppression window.
func TestSuppression(t *testing.T) {
	sc, _ := traffic.Find("vpn")
	g := traffic.New(1)
	g.Play([]traffic.Scenario{sc})
	evs := g.Events()
	evs = append(evs, evs...)
	if n := count(run(t, DefaultConfig(), evs), "vpn"); n != 1 {
		t.Errorf("%d vpn alerts, want 1", n)
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
