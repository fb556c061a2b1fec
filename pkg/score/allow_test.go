package score

import (
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/event"
)

// TestAllowRules: a score.allow rule drops the findings it matches, by
// threat, source, destination, domain pattern and expiry, and says so
// through Explain; what it does not match still alerts.
func TestAllowRules(t *testing.T) {
	c, err := config.Parse([]byte(`score:
  allow:
    - {threat: dns_probe, src: [10.1.0.0/16], comment: "our resolver monitoring"}
    - {domain: "*.oast.fun", comment: "last month's pentest", expires: 2026-03-01}
    - {threat: exfil_ssh, dst: [203.0.113.9], comment: "offsite backup"}
    - {domain: "*.oast.site", comment: "this month's pentest", expires: 2026-04-01}
`), "c.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ConfigFrom(&c.Score)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := New(cfg)
	var explained []string
	e.Explain = func(ev *event.Event, threat, decision, reason string) {
		explained = append(explained, threat+": "+decision)
	}
	var alerts []*event.Event
	emit := func(a *event.Event) { alerts = append(alerts, a) }
	for _, ev := range []event.Event{
		edgeDNS(0, "version.bind"), // allowed by rule 0
		edgeDNS(time.Second, "x.oast.fun"),
		edgeFlow(2*time.Second, "203.0.113.9", 22, "SF", 20<<20, 1000),  // allowed by rule 2
		edgeFlow(3*time.Second, "203.0.113.10", 22, "SF", 20<<20, 1000), // not allowed
	} {
		e.Process(&ev, emit)
	}
	// Rule 1 expired on 2026-03-01 (the events are of 2026-03-01 08:00):
	// x.oast.fun alerts; rule 3 has not expired.
	late := edgeDNS(4*time.Second, "y.oast.site")
	e.Process(&late, emit)
	e.Flush(emit)
	got := map[string]int{}
	for _, a := range alerts {
		got[ids(a)]++
	}
	if got["dns_probe"] != 0 || got["oast"] != 1 || got["exfil_ssh"] != 1 {
		t.Errorf("alerts %v", got)
	}
	if st := e.Stats(); st.Allowed != 3 {
		t.Errorf("%d findings allowed, want 3", st.Allowed)
	}
	joined := strings.Join(explained, "\n")
	for _, want := range []string{"dns_probe: allowed by score.allow[0] (our resolver monitoring)", "exfil_ssh: allowed by score.allow[2] (offsite backup)", "oast: alert, incident ", "oast: allowed by score.allow[3] (this month's pentest)"} {
		if !strings.Contains(joined, want) {
			t.Errorf("explain lacks %q:\n%s", want, joined)
		}
	}
}

func TestAllowRulesConfig(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"score:\n  allow:\n    - {threat: beacon}\n", "comment is required"},
		{"score:\n  allow:\n    - {src: [10.0.0.300], comment: x}\n", "not an address or CIDR"},
		{"score:\n  allow:\n    - {threat: beacon, comment: x, expires: soon}\n", "not a date"},
		{"score:\n  allow:\n    - {comment: x}\n", "at least one of"},
		{"score:\n  allow:\n    - {threat: no_such, comment: x}\n", "unknown threat"},
	} {
		c, err := config.Parse([]byte(tt.yaml), "c.yml")
		if err == nil {
			_, err = ConfigFrom(&c.Score)
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
