package config

import (
	"strings"
	"testing"
)

func TestAlertsSection(t *testing.T) {
	c, err := Parse([]byte(`sensor: dmz-1
alerts:
  queue: q
  facility: auth
  outputs:
    - {name: siem, url: "syslog+relp://siem:2514", format: cef}
    - {name: f, url: "file:alerts/out.cef"}
    - url: https://hec:8088/services/collector/event
      body: hec
      token_file: hec.token
      min_severity: 4
      threats: {include: [c2], exclude: [tor]}
      policy: false
`), "/etc/nfr/config.yml")
	if err != nil {
		t.Fatal(err)
	}
	a := c.Alerts
	if c.SensorName() != "dmz-1" || a.Queue != "/etc/nfr/q" || a.Outputs[2].TokenFile != "/etc/nfr/hec.token" || FacilityNumber(a.Facility) != 4 {
		t.Errorf("got %+v", a)
	}
	if a.Outputs[1].URL != "file:/etc/nfr/alerts/out.cef" {
		t.Errorf("file url not resolved: %s", a.Outputs[1].URL)
	}
	o := a.Outputs[2]
	if o.MinSeverity != 4 || o.Threats.Include[0] != "c2" || o.Policy == nil || *o.Policy || a.QueueLimitMB != 256 {
		t.Errorf("output %+v", o)
	}
	for _, c := range []struct{ in, want string }{
		{"alerts:\n  facility: local9\n", "alerts.facility"},
		{"alerts:\n  outputs:\n    - {format: cef}\n", "url is missing"},
		{"alerts:\n  outputs:\n    - {url: x, min_severity: 7}\n", "min_severity"},
		{"alerts:\n  outputs:\n    - {url: x, nmae: y}\n", "c.yml:3: "},
		{"alerts:\n  fsync: sometimes\n", "alerts.fsync"},
	} {
		_, err := Parse([]byte(c.in), "c.yml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}
