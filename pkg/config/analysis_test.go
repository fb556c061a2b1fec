package config

import (
	"strings"
	"testing"
	"time"
)

func TestAnalysis(t *testing.T) {
	for _, tc := range []struct {
		yml, err string
	}{
		{"analysis:\n  tcp_idle: 90s\n  max_flows: 1000\n", ""},
		{"analysis:\n  udp_idle: 0s\n", "udp_idle must be a positive duration"},
		{"analysis:\n  max_buffer_per_stream: 100\n  max_buffer_total: 10\n", "larger than max_buffer_total"},
		{"analysis:\n  max_flow: 10\n", "c.yml:2: "},
	} {
		c, err := Parse([]byte(tc.yml), "c.yml")
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.yml, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: got %v, want %q", tc.yml, err, tc.err)
		case tc.err == "" && (c.Analysis.TCPIdle != 90*time.Second || c.Analysis.MaxFlows != 1000 || c.Analysis.UDPIdle != time.Minute):
			t.Errorf("%q: %+v", tc.yml, c.Analysis)
		}
	}
}
