package score

import (
	"fmt"
	"net/netip"

	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/intel"
)

// ConfigFrom turns config.yml's score section into an engine Config
// (without feeds; see LoadFeeds). Errors are configuration errors.
func ConfigFrom(c *config.Score) (Config, error) {
	cfg := DefaultConfig()
	if len(c.Internal) > 0 {
		cfg.Internal = nil
		for _, s := range c.Internal {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return cfg, fmt.Errorf("score.internal: %q is not a CIDR block", s)
			}
			cfg.Internal = append(cfg.Internal, p.Masked())
		}
	}
	if c.Suppress > 0 {
		cfg.Suppress = c.Suppress
	}
	for _, id := range c.Disable {
		if _, ok := Lookup(id); !ok {
			return cfg, fmt.Errorf("score.disable: unknown threat %q (see nfr-score --list-threats)", id)
		}
	}
	cfg.Disabled = c.Disable
	rules, err := rulesFrom(c.Allow)
	if err != nil {
		return cfg, err
	}
	cfg.Allow = rules
	for _, f := range c.Feeds {
		if _, ok := Lookup(f.Threat); !ok {
			return cfg, fmt.Errorf("score.feeds: %s: unknown threat %q (see nfr-score --list-threats)", f.File, f.Threat)
		}
	}
	if c.MaxSources > 0 {
		cfg.MaxSources = c.MaxSources
	}
	if c.MaxDomains > 0 {
		cfg.MaxDomains = c.MaxDomains
	}
	if c.MaxPairs > 0 {
		cfg.MaxPairs = c.MaxPairs
	}
	t := c.Thresholds
	cfg.Thresholds = Thresholds{
		Window: t.Window, LongWindow: t.LongWindow, DGANames: t.DGANames, NXDomains: t.NXDomains,
		DGAWords: t.DGAWords, DGAWordsDay: t.DGAWordsDay,
		TunnelNames: t.TunnelNames, TunnelLen: t.TunnelLength, TunnelEntropy: t.TunnelEntropy,
		ScanPorts: t.ScanPorts, ScanHosts: t.ScanHosts, ICMPPackets: t.ICMPPackets, ICMPPayload: t.ICMPPayload,
		SpamServers: t.SpamServers, SpamWindow: t.SpamWindow, UploadBytes: t.UploadBytes, UploadWindow: t.UploadWindow,
		BeaconMin: t.BeaconMin, BeaconScore: t.BeaconScore, BeaconMinSpan: t.BeaconSpan, BeaconInterval: t.BeaconInterval,
		StrobeFailed: t.StrobeFailed, StrobeConns: t.StrobeConns, StrobeWindow: t.StrobeWindow,
		Horizon: t.Horizon, TunnelNamesDay: t.TunnelNamesDay, NXDomainsDay: t.NXDomainsDay, NXRatio: t.NXRatio,
		ScanPortsDay: t.ScanPortsDay, ScanHostsDay: t.ScanHostsDay,
	}
	fillThresholds(&cfg.Thresholds, DefaultConfig().Thresholds)
	return cfg, nil
}

// LoadFeeds loads the feeds of config.yml plus extra plain lists (threat
// c2). info is told what each file gave, warn about skipped lines. It
// returns nil when there are no feeds.
func LoadFeeds(c *config.Score, extra []string, info, warn func(string)) (*intel.Set, error) {
	feeds := append([]config.ScoreFeed(nil), c.Feeds...)
	for _, f := range extra {
		feeds = append(feeds, config.ScoreFeed{File: f, Format: "plain", Threat: "c2"})
	}
	if len(feeds) == 0 {
		return nil, nil
	}
	s := intel.NewSet()
	for _, f := range feeds {
		st, err := s.LoadFile(f.File, intel.Feed{Name: f.Name, Format: f.Format, Threat: f.Threat, Column: f.Column})
		if err != nil {
			return nil, err
		}
		if info != nil {
			info(fmt.Sprintf("feed %s: %d indicators (%s)", f.File, st.Added, f.Threat))
		}
		if st.Skipped > 0 && warn != nil {
			why := "hashes or other indicators that are not network ones"
			if st.First != "" {
				why = "first at " + st.First
			}
			warn(fmt.Sprintf("%s: %d lines skipped: %s", f.File, st.Skipped, why))
		}
	}
	return s, nil
}
