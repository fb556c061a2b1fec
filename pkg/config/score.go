package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"time"

	"github.com/nfr-project/nfr/pkg/intel"
)

// Score configures nfr-score, the built-in analytics engine.
type Score struct {
	// Internal lists the monitored networks (CIDR); empty means the
	// private and special-purpose ranges.
	Internal []string `yaml:"internal"`
	// Suppress is how long the same threat on the same subject stays quiet.
	Suppress time.Duration `yaml:"suppress"`
	// State is the file behavioural windows are kept in between runs.
	State string `yaml:"state"`
	// Reorder is how far out of time order events may arrive and still
	// be scored in order (nfr-score); 0 means 5 minutes.
	Reorder time.Duration `yaml:"reorder"`
	// Disable lists threat ids never raised.
	Disable []string `yaml:"disable"`
	// MinSeverity drops alerts below it (1-5).
	MinSeverity int `yaml:"min_severity"`

	MaxSources int `yaml:"max_sources"`
	MaxDomains int `yaml:"max_domains"`
	MaxPairs   int `yaml:"max_pairs"`
	// MemoryLimitMB is nfr-score's soft memory limit (the Go runtime's
	// GOMEMLIMIT, which wins when set): the garbage collector works harder
	// as the heap nears it instead of letting it grow to twice the live
	// state. 0 means none.
	MemoryLimitMB int `yaml:"memory_limit_mb"`

	Feeds      []ScoreFeed     `yaml:"feeds"`
	Allow      []ScoreAllow    `yaml:"allow"`
	Thresholds ScoreThresholds `yaml:"thresholds"`
}

// ScoreFeed is one threat-intelligence feed file.
type ScoreFeed struct {
	File   string `yaml:"file"`
	Format string `yaml:"format"` // plain, hosts, csv, tor-exits, feodo, urlhaus, threatfox, sslbl-ja3, zeek-intel
	Threat string `yaml:"threat"` // threat id its indicators imply; default c2
	Column int    `yaml:"column"` // 1-based column for csv
	Name   string `yaml:"name"`   // shown in alerts; default the file's base name
}

// ScoreThresholds tune the behavioural detectors; 0 keeps the default.
type ScoreThresholds struct {
	Window         time.Duration `yaml:"window"`
	LongWindow     time.Duration `yaml:"long_window"`
	DGANames       int           `yaml:"dga_names"`
	NXDomains      int           `yaml:"nxdomains"`
	DGAWords       int           `yaml:"dga_words"`
	DGAWordsDay    int           `yaml:"dga_words_day"`
	TunnelNames    int           `yaml:"tunnel_names"`
	TunnelLength   float64       `yaml:"tunnel_length"`
	TunnelEntropy  float64       `yaml:"tunnel_entropy"`
	ScanPorts      int           `yaml:"scan_ports"`
	ScanHosts      int           `yaml:"scan_hosts"`
	ICMPPackets    int           `yaml:"icmp_packets"`
	ICMPPayload    int64         `yaml:"icmp_payload"`
	SpamServers    int           `yaml:"spam_servers"`
	SpamWindow     time.Duration `yaml:"spam_window"`
	UploadBytes    int64         `yaml:"upload_bytes"`
	UploadWindow   time.Duration `yaml:"upload_window"`
	BeaconMin      int           `yaml:"beacon_min"`
	BeaconScore    float64       `yaml:"beacon_score"`
	BeaconSpan     time.Duration `yaml:"beacon_span"`
	BeaconInterval time.Duration `yaml:"beacon_interval"`
	StrobeFailed   int           `yaml:"strobe_failed"`
	StrobeConns    int           `yaml:"strobe_conns"`
	StrobeWindow   time.Duration `yaml:"strobe_window"`
	Horizon        time.Duration `yaml:"horizon"`
	TunnelNamesDay int           `yaml:"tunnel_names_day"`
	NXDomainsDay   int           `yaml:"nxdomains_day"`
	NXRatio        float64       `yaml:"nx_ratio"`
	ScanPortsDay   int           `yaml:"scan_ports_day"`
	ScanHostsDay   int           `yaml:"scan_hosts_day"`
}

func (s *Score) setDefaults() {
	s.Suppress = time.Hour
	s.MaxSources, s.MaxDomains, s.MaxPairs = 100000, 100000, 200000
	s.MemoryLimitMB = 256
}

var threatID = regexp.MustCompile(`^[a-z0-9_]+$`)

func (s *Score) validate() error {
	for _, c := range s.Internal {
		if _, err := netip.ParsePrefix(c); err != nil {
			return fmt.Errorf("score.internal: %q is not a CIDR block", c)
		}
	}
	if s.Suppress < 0 {
		return fmt.Errorf("score.suppress: must not be negative")
	}
	if s.Reorder < 0 {
		return fmt.Errorf("score.reorder: must not be negative")
	}
	if s.MinSeverity < 0 || s.MinSeverity > 5 {
		return fmt.Errorf("score.min_severity: %d is not between 0 and 5", s.MinSeverity)
	}
	if s.MaxSources < 0 || s.MaxDomains < 0 || s.MaxPairs < 0 {
		return fmt.Errorf("score: max_sources, max_domains and max_pairs must not be negative")
	}
	if s.MemoryLimitMB < 0 {
		return fmt.Errorf("score.memory_limit_mb: must not be negative")
	}
	if err := s.validateAllow(); err != nil {
		return err
	}
	for _, id := range s.Disable {
		if !threatID.MatchString(id) {
			return fmt.Errorf("score.disable: %q is not a threat id", id)
		}
	}
	for i := range s.Feeds {
		f := &s.Feeds[i]
		if f.File == "" {
			return fmt.Errorf("score.feeds[%d]: file is required", i)
		}
		if f.Format == "" {
			f.Format = "plain"
		}
		ok := false
		for _, n := range intel.Formats {
			ok = ok || n == f.Format
		}
		if !ok {
			return fmt.Errorf("score.feeds[%d]: unknown format %q", i, f.Format)
		}
		if f.Format == "csv" && f.Column < 1 {
			return fmt.Errorf("score.feeds[%d]: a csv feed needs column (1-based)", i)
		}
		if f.Threat == "" {
			f.Threat = "c2"
		}
		if !threatID.MatchString(f.Threat) {
			return fmt.Errorf("score.feeds[%d]: %q is not a threat id", i, f.Threat)
		}
	}
	return nil
}

func (s *Score) paths() []*string {
	ps := []*string{&s.State}
	for i := range s.Feeds {
		ps = append(ps, &s.Feeds[i].File)
	}
	return ps
}
