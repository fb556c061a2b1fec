package score

import (
	"bytes"
	"testing"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/scripts/genthreats/traffic"
)

// TestEval plays every variant of scripts/genthreats (traffic.Variants)
// and every benign chore (traffic.Chores) alone through nfr-score's
// filter and prints the behaviour x variant table make eval shows. A
// variant nfr-score claims to cover must raise its threat; a chore must
// raise no threat (policy alerts are allowed and counted).
func TestEval(t *testing.T) {
	for _, v := range traffic.Variants {
		alerts, n := playVariant(t, v)
		got := byThreat(alerts)
		result := "detected"
		if got[v.Threat]+got[v.Threat+"(policy)"] == 0 {
			result = "missed"
			if v.Claimed {
				t.Errorf("%s / %s: no %s alert; got %s", v.Behaviour, v.Name, v.Threat, formatCounts(got))
			}
		}
		claim := "claimed"
		if !v.Claimed {
			claim = "not claimed"
		}
		t.Logf("eval: variant\t%s\t%s\t%s\t%s\t%d events\t%s", v.Behaviour, v.Name, result, claim, n, formatCounts(got))
	}
	events, threats := 0, 0
	for _, c := range traffic.Chores {
		alerts, n := playVariant(t, c)
		events += n
		bad := 0
		for _, a := range alerts {
			if a.Count == 1 && !isPolicy(a) {
				bad++
				t.Errorf("chore %s: %s %s", c.Name, ids(a), a.Reason)
			}
		}
		threats += bad
		t.Logf("eval: chore\t%s\t%d events\t%d threat alerts\t%s", c.Name, n, bad, formatCounts(byThreat(alerts)))
	}
	t.Logf("eval: chores: %d events, %d threat alerts: %.2f per 10,000 events", events, threats, float64(threats)/float64(max(events, 1))*10000)
}

// playVariant generates one variant from host 10.0.1.10 and scores its
// events in time order.
func playVariant(t *testing.T, v traffic.Variant) (alerts []*event.Event, n int) {
	t.Helper()
	g := traffic.New(1)
	g.Play([]traffic.Scenario{{Name: v.Behaviour, Threat: v.Threat, Desc: v.Name, Run: v.Run}})
	var in bytes.Buffer
	if err := g.WriteEvents(&in); err != nil {
		t.Fatal(err)
	}
	n = bytes.Count(in.Bytes(), []byte("\n"))
	if n == 0 {
		t.Fatalf("%s: no events", v.Name)
	}
	return filterAlerts(t, in.Bytes()), n
}
