package config

import (
	"strings"
	"testing"
	"time"
)

func TestEngine(t *testing.T) {
	for _, tc := range []struct {
		yaml, err string
	}{
		{"engine: {}", ""},
		{"engine:\n  listen: 0.0.0.0:8443\n  tls_cert: c.pem\n  tls_key: k.pem\n  sync: normal\n", ""},
		{"engine:\n  listen: localhost\n", "engine.listen"},
		{"engine:\n  tls_cert: c.pem\n", "engine.tls_cert and engine.tls_key"},
		{"engine:\n  sync: sometimes\n", "engine.sync"},
		{"engine:\n  queue: 0\n", "engine.queue"},
		{"engine:\n  max_body_mb: 5000\n", "engine.max_body_mb"},
		{"engine:\n  batch_retention: forever\n", "engine.batch_retention"},
		{"engine:\n  alerts_page: -1\n", "engine.alerts_page"},
		{"engine:\n  alert_retention: -1h\n", "engine.alert_retention"},
		{"engine:\n  alert_retention: 2160h\n", ""},
		{"engine:\n  listn: x\n", "c.yml:2: "},
	} {
		c, err := Parse([]byte(tc.yaml), "/etc/nfr/c.yml")
		if tc.err == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.yaml, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: error %v, want one with %q", tc.yaml, err, tc.err)
		}
		_ = c
	}
	c, err := Parse([]byte("engine:\n  db: engine.db\n  tls_cert: tls/c.pem\n  tls_key: /k.pem\n"), "/etc/nfr/config.yml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Engine.DB != "/etc/nfr/engine.db" || c.Engine.TLSCert != "/etc/nfr/tls/c.pem" || c.Engine.TLSKey != "/k.pem" {
		t.Errorf("paths not resolved: %+v", c.Engine)
	}
	d := Default().Engine
	if b, a := d.Retention(); d.Listen != "127.0.0.1:8080" || b != 720*time.Hour || a != 0 || !d.KeyRequestsOn() {
		t.Errorf("defaults %+v", d)
	}
}

// TestKeyRequestsDefault: key requests are on by default only on loopback;
// an explicit setting wins.
func TestKeyRequestsDefault(t *testing.T) {
	for _, c := range []struct {
		yaml string
		want bool
	}{
		{"engine:\n  listen: 127.0.0.1:8080\n", true},
		{"engine:\n  listen: '[::1]:8080'\n", true},
		{"engine:\n  listen: localhost:8080\n", true},
		{"engine:\n  listen: 0.0.0.0:8080\n", false},
		{"engine:\n  listen: ':8080'\n", false},
		{"engine:\n  listen: 192.0.2.1:8080\n", false},
		{"engine:\n  listen: 0.0.0.0:8080\n  key_requests: true\n", true},
		{"engine:\n  listen: 127.0.0.1:8080\n  key_requests: false\n", false},
	} {
		cfg, err := Parse([]byte(c.yaml), "/etc/nfr/config.yml")
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Engine.KeyRequestsOn(); got != c.want {
			t.Errorf("%q: key requests %v, want %v", c.yaml, got, c.want)
		}
	}
	if _, err := Parse([]byte("engine:\n  max_tenants: 0\n"), "/etc/nfr/config.yml"); err == nil {
		t.Error("max_tenants 0 accepted")
	}
}
