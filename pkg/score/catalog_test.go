package score

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/config"
)

// TestManPageCatalog keeps the threat table of nfr-score(1) equal to the
// catalog.
func TestManPageCatalog(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.Root(t), "man", "nfr-score.1"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, "\t")
		if len(f) == 4 && f[0] != "id" {
			rows[f[0]] = line
		}
	}
	for _, th := range Catalog {
		kind := "threat"
		if th.Policy {
			kind = "policy"
		}
		want := fmt.Sprintf("%s\t%d\t%s\t%s", th.ID, th.Severity, kind, th.Title)
		if rows[th.ID] != want {
			t.Errorf("man page row for %s is %q, want %q", th.ID, rows[th.ID], want)
		}
		delete(rows, th.ID)
	}
	for id := range rows {
		t.Errorf("man page lists %s, which is not in the catalog", id)
	}
}

// TestSampleConfigIsDefault: the thresholds config.yml documents are the
// engine's defaults, so the commented sample cannot drift from the code,
// and every catalog id is accepted by score.disable.
func TestSampleConfigIsDefault(t *testing.T) {
	c, err := config.Load(filepath.Join(testenv.Root(t), "config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ConfigFrom(&c.Score)
	if err != nil {
		t.Fatal(err)
	}
	if def := DefaultConfig(); cfg.Thresholds != def.Thresholds || cfg.Suppress != def.Suppress {
		t.Errorf("config.yml thresholds %+v\nwant the defaults %+v", cfg.Thresholds, def.Thresholds)
	}
	if c.Score.Reorder != DefaultReorderWindow {
		t.Errorf("config.yml reorder %v, default %v", c.Score.Reorder, DefaultReorderWindow)
	}
	sc := c.Score
	sc.Disable = ThreatIDs()
	if _, err := ConfigFrom(&sc); err != nil {
		t.Errorf("disabling every catalog id: %v", err)
	}
}

// TestRegistryCatalog: every threat a detector names is in the catalog,
// every catalog id is raised by some detector, and detectors' names (the
// keys of their state in a state file) are distinct.
func TestRegistryCatalog(t *testing.T) {
	e, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	raised := map[string]bool{}
	names := map[string]bool{}
	for _, d := range e.all {
		if names[d.name()] {
			t.Errorf("two detectors are named %s", d.name())
		}
		names[d.name()] = true
		if d.on() == 0 {
			t.Errorf("detector %s observes no event type", d.name())
		}
		for _, id := range d.threats() {
			if _, ok := Lookup(id); !ok {
				t.Errorf("detector %s names %q, which is not in the catalog", d.name(), id)
			}
			raised[id] = true
		}
	}
	for _, th := range Catalog {
		if !raised[th.ID] {
			t.Errorf("no detector raises %s", th.ID)
		}
	}
}
