package config

import (
	"fmt"
	"time"
)

// Analysis bounds nfr-capture's flow table and TCP reassembly (HTTP, TLS)
// and sets the flow timeouts. Durations are Go durations ("90s", "5m").
type Analysis struct {
	TCPIdle            time.Duration `yaml:"tcp_idle"`              // a TCP flow quiet this long is emitted
	UDPIdle            time.Duration `yaml:"udp_idle"`              // the same for UDP
	ICMPIdle           time.Duration `yaml:"icmp_idle"`             // the same for ICMP and other protocols
	ActiveTimeout      time.Duration `yaml:"active_timeout"`        // a longer flow is emitted and counted afresh
	CloseGrace         time.Duration `yaml:"close_grace"`           // kept after FIN both ways or a reset
	MaxFlows           int           `yaml:"max_flows"`             // flows tracked at once
	MaxConnections     int           `yaml:"max_connections"`       // TCP connections reassembled at once
	MaxBufferPerStream int           `yaml:"max_buffer_per_stream"` // out-of-order bytes per direction
	MaxBufferTotal     int           `yaml:"max_buffer_total"`      // out-of-order bytes in all
}

func (a *Analysis) setDefaults() {
	*a = Analysis{
		TCPIdle: 5 * time.Minute, UDPIdle: time.Minute, ICMPIdle: time.Minute,
		ActiveTimeout: 30 * time.Minute, CloseGrace: 5 * time.Second,
		MaxFlows: 1 << 18, MaxConnections: 1 << 16, MaxBufferPerStream: 256 << 10, MaxBufferTotal: 64 << 20,
	}
}

func (a *Analysis) validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"tcp_idle", a.TCPIdle}, {"udp_idle", a.UDPIdle}, {"icmp_idle", a.ICMPIdle}, {"active_timeout", a.ActiveTimeout}, {"close_grace", a.CloseGrace}} {
		if d.v <= 0 {
			return fmt.Errorf("analysis: %s must be a positive duration such as 90s or 5m, not %v", d.name, d.v)
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"max_flows", a.MaxFlows}, {"max_connections", a.MaxConnections}, {"max_buffer_per_stream", a.MaxBufferPerStream}, {"max_buffer_total", a.MaxBufferTotal}} {
		if n.v <= 0 {
			return fmt.Errorf("analysis: %s must be positive, not %d", n.name, n.v)
		}
	}
	if a.MaxBufferPerStream > a.MaxBufferTotal {
		return fmt.Errorf("analysis: max_buffer_per_stream (%d) is larger than max_buffer_total (%d)", a.MaxBufferPerStream, a.MaxBufferTotal)
	}
	return nil
}
