package config

import (
	"fmt"
	"strings"
	"time"
)

// Network is what nfr listen captures and how nfr-capture decodes it. The
// wrapper turns these keys into nfr-capture options.
type Network struct {
	Interface   string   `yaml:"interface"`   // default interface for nfr listen
	Filter      string   `yaml:"filter"`      // BPF filter (tcpdump syntax)
	DNSPorts    []int    `yaml:"dns_ports"`   // extra DNS ports beside 53
	Types       []string `yaml:"types"`       // event types to emit; default all
	DNSTimeout  string   `yaml:"dns_timeout"` // how long a query waits for its response
	SnapLen     int      `yaml:"snaplen"`     // bytes captured per packet, live
	Promiscuous *bool    `yaml:"promiscuous"` // put the interface in promiscuous mode
	AFPacket    bool     `yaml:"afpacket"`    // capture through AF_PACKET rings instead of libpcap
	Workers     int      `yaml:"workers"`     // AF_PACKET decoding workers (fanout)
	User        string   `yaml:"user"`        // drop root to this user once the interface is open (-Z)
}

// Defaults of the network section.
const (
	DefaultDNSTimeout = "5s"
	DefaultSnapLen    = 262144
)

func (n *Network) setDefaults() {
	n.DNSTimeout = DefaultDNSTimeout
	n.SnapLen = DefaultSnapLen
	on := true
	n.Promiscuous = &on
	n.Workers = 1
}

func (n *Network) validate() error {
	if n.Workers < 1 || (n.Workers > 1 && !n.AFPacket) {
		return fmt.Errorf("network.workers: %d needs network.afpacket and must be at least 1", n.Workers)
	}
	for _, p := range n.DNSPorts {
		if p < 1 || p > 65535 {
			return fmt.Errorf("network.dns_ports: %d is not a port (1-65535)", p)
		}
	}
	for _, t := range n.Types {
		switch strings.ToLower(t) {
		case "dns", "ip", "http", "tls", "ssh":
		default:
			return fmt.Errorf("network.types: unknown event type %q (known: dns, ip, http, tls, ssh)", t)
		}
	}
	if d, err := time.ParseDuration(n.DNSTimeout); err != nil || d <= 0 {
		return fmt.Errorf("network.dns_timeout: %q is not a positive duration such as 5s", n.DNSTimeout)
	}
	if n.SnapLen < 64 || n.SnapLen > 262144 {
		return fmt.Errorf("network.snaplen: %d is outside 64-262144", n.SnapLen)
	}
	if n.Promiscuous == nil {
		on := true
		n.Promiscuous = &on
	}
	return nil
}

// DNSTimeoutDuration returns dns_timeout parsed; validate has checked it.
func (n *Network) DNSTimeoutDuration() time.Duration {
	d, _ := time.ParseDuration(n.DNSTimeout)
	return d
}
