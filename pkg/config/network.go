package config

// Network is what nfr listen captures.
type Network struct {
	Interface string   `yaml:"interface"` // default interface for nfr listen
	Filter    string   `yaml:"filter"`    // BPF filter (tcpdump syntax)
	DNSPorts  []int    `yaml:"dns_ports"` // extra DNS ports beside 53
	Types     []string `yaml:"types"`     // event types to emit; default all
}

func (n *Network) setDefaults()    {}
func (n *Network) validate() error { return nil }
