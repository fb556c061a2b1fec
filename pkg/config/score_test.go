package config

import (
	"strings"
	"testing"
	"time"
)

func TestScoreSection(t *testing.T) {
	c, err := Parse([]byte(`score:
  suppress: 30m
  internal: [10.20.0.0/16]
  feeds:
    - file: feeds/c2.txt
    - {file: /abs/urlhaus.csv, format: urlhaus, threat: malware}
  thresholds:
    window: 2m
`), "/etc/nfr/config.yml")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Score
	if s.Suppress != 30*time.Minute || s.Thresholds.Window != 2*time.Minute || s.MaxSources != 100000 {
		t.Errorf("got %+v", s)
	}
	if s.Feeds[0].File != "/etc/nfr/feeds/c2.txt" || s.Feeds[0].Format != "plain" || s.Feeds[0].Threat != "c2" {
		t.Errorf("feed defaults or path not resolved: %+v", s.Feeds[0])
	}
	if s.Feeds[1].File != "/abs/urlhaus.csv" || s.Feeds[1].Threat != "malware" {
		t.Errorf("second feed: %+v", s.Feeds[1])
	}
}

func TestScoreErrors(t *testing.T) {
	for _, c := range []struct{ yml, want string }{
		{"score:\n  internal: [10.0.0.0/33]\n", "score.internal"},
		{"score:\n  feeds:\n    - {format: plain}\n", "file is required"},
		{"score:\n  feeds:\n    - {file: x, format: stix}\n", "unknown format"},
		{"score:\n  feeds:\n    - {file: x, format: csv}\n", "column"},
		{"score:\n  min_severity: 9\n", "min_severity"},
		{"score:\n  thresholds:\n    windw: 1m\n", "c.yml:3"},
		{"score:\n  suppress: often\n", "c.yml:2"},
	} {
		_, err := Parse([]byte(c.yml), "c.yml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error with %q", c.yml, err, c.want)
		}
	}
}
