package score

import (
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/intel"
	"github.com/nfr-project/nfr/scripts/genthreats/traffic"
)

// testFeeds lists what the c2 scenario talks to, as a user feed would.
func testFeeds(t testing.TB) *intel.Set {
	s := intel.NewSet()
	f := intel.Feed{Name: "test-c2", Format: "plain", Threat: "c2"}
	if _, err := s.Load(strings.NewReader(traffic.C2Domain+"\n"+traffic.C2Addr+"\n"), f); err != nil {
		t.Fatal(err)
	}
	return s
}

func run(t testing.TB, cfg Config, evs []event.Event) []*event.Event {
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var alerts []*event.Event
	emit := func(a *event.Event) { alerts = append(alerts, a) }
	for i := range evs {
		e.Process(&evs[i], emit)
	}
	e.Flush(emit)
	return alerts
}

// TestScenarios plays every generated behaviour alone through the engine
// and checks that it raises the threat it stands for, and nothing else
// of severity 3 or more.
func TestScenarios(t *testing.T) {
	for _, sc := range traffic.Scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			g := traffic.New(1)
			g.Play([]traffic.Scenario{sc})
			cfg := DefaultConfig()
			cfg.Feeds = testFeeds(t)
			alerts := run(t, cfg, g.Events())
			got := map[string]int{}
			for _, a := range alerts {
				for id := range a.Threats {
					got[id]++
				}
				t.Logf("%s %s: %s", a.EventType, ids(a), a.Reason)
			}
			if sc.Threat == "" {
				if len(alerts) > 0 {
					t.Errorf("benign traffic raised %d alerts", len(alerts))
				}
				return
			}
			if got[sc.Threat] == 0 {
				t.Errorf("no %s alert; got %v", sc.Threat, got)
			}
		})
	}
}

// TestAllScenarios plays every behaviour in one capture, each from its own
// host, and checks each host's alerts.
func TestAllScenarios(t *testing.T) {
	g := traffic.New(7)
	g.Play(traffic.Scenarios)
	cfg := DefaultConfig()
	cfg.Feeds = testFeeds(t)
	alerts := run(t, cfg, g.Events())
	byHost := map[netip.Addr]map[string]bool{}
	for _, a := range alerts {
		if byHost[a.SrcIP] == nil {
			byHost[a.SrcIP] = map[string]bool{}
		}
		for id := range a.Threats {
			byHost[a.SrcIP][id] = true
		}
	}
	for i, sc := range traffic.Scenarios {
		h := netip.AddrFrom4([4]byte{10, 0, 1, byte(10 + i)})
		if sc.Threat == "" {
			if len(byHost[h]) > 0 {
				t.Errorf("%s (%s): unexpected %v", sc.Name, h, byHost[h])
			}
			continue
		}
		if !byHost[h][sc.Threat] {
			t.Errorf("%s (%s): no %s alert; got %v", sc.Name, h, sc.Threat, byHost[h])
		}
	}
}

func ids(a *event.Event) string {
	var s []string
	for id := range a.Threats {
		s = append(s, id)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}
