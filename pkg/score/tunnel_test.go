package score

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// TestTunnelStateOnSecondName: a source's first long name under a domain
// costs no table entry (most sources look up one), its second makes one
// that counts both.
func TestTunnelStateOnSecondName(t *testing.T) {
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	lookup := func(i int, src, q string) event.Event {
		return event.Event{Type: event.TypeDNS, TS: start.Add(time.Duration(i) * time.Second), SrcIP: netip.MustParseAddr(src),
			DestIP: netip.MustParseAddr("10.0.0.2"), DestPort: 53, Proto: "udp", Query: q, QType: "A", RCode: "NOERROR"}
	}
	tests := []struct {
		name    string
		events  []event.Event
		domains int
	}{
		{"one name from each of 1000 sources", func() (evs []event.Event) {
			for i := range 1000 {
				evs = append(evs, lookup(i, fmt.Sprintf("10.1.%d.%d", i>>8, i&255), fmt.Sprintf("www.site%d.example.com", i)))
			}
			return evs
		}(), 0},
		{"one name twice", []event.Event{lookup(0, "10.1.0.1", "www.site1.example.com"), lookup(1, "10.1.0.1", "www.site1.example.com")}, 0},
		{"two names from one source", []event.Event{lookup(0, "10.1.0.1", "www.site1.example.com"), lookup(1, "10.1.0.1", "www.site2.example.com")}, 1},
	}
	for _, tt := range tests {
		e, _ := New(DefaultConfig())
		for i := range tt.events {
			e.Process(&tt.events[i], func(*event.Event) {})
		}
		if got := e.Stats().Domains; got != tt.domains {
			t.Errorf("%s: %d tunnel entries, want %d", tt.name, got, tt.domains)
		}
	}
	// Twenty names, the first kept aside, are twenty.
	e, _ := New(DefaultConfig())
	var alerts []*event.Event
	for i := range 20 {
		ev := lookup(i, "10.1.0.1", fmt.Sprintf("x%02dqz7kw9vbn3mt5yh8rj2fp6gd4.example.net", i))
		e.Process(&ev, func(a *event.Event) { alerts = append(alerts, a) })
	}
	if count(alerts, ThreatDNSTunnel) != 1 || alerts[0].Reason[:2] != "20" {
		t.Errorf("alerts %v, want one dns_tunnel with 20 names", alerts)
	}
}
