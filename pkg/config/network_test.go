package config

import (
	"strings"
	"testing"
	"time"
)

func TestNetwork(t *testing.T) {
	for _, c := range []struct{ yml, err string }{
		{"network:\n  dns_ports: [5353, 8053]\n  types: [dns, TLS]\n", ""},
		{"network:\n  dns_ports: [70000]\n", "network.dns_ports: 70000"},
		{"network:\n  types: [dns, flows]\n", `unknown event type "flows"`},
		{"network:\n  types: [ssh, ip]\n", ""},
		{"network:\n  dns_timeout: soon\n", "network.dns_timeout"},
		{"network:\n  snaplen: 10\n", "network.snaplen"},
		{"network:\n  bpf: udp\n", "config.yml:2: field bpf not found"},
	} {
		_, err := Parse([]byte(c.yml), "config.yml")
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: err = %v, want %q", c.yml, err, c.err)
		}
	}
	c := Default()
	if c.Network.DNSTimeoutDuration() != 5*time.Second || c.Network.SnapLen != 262144 || !*c.Network.Promiscuous {
		t.Errorf("defaults %+v", c.Network)
	}
}
