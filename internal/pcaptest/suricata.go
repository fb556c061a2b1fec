package pcaptest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// SuricataCheck is one filter of a suricata-verify test: exactly Count eve
// events match every field of Match (dotted paths).
type SuricataCheck struct {
	Count int
	Match map[string]any
}

// SuricataChecks reads the checks of every expected.*.json in dir whose
// event_type is one of types, leaving out those gated to Suricata versions
// before 7 (older output formats).
func SuricataChecks(t testing.TB, dir string, types ...string) []SuricataCheck {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "expected.*.json"))
	var out []SuricataCheck
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Requires map[string]any `json:"requires"`
			Checks   []struct {
				Filter *struct {
					Count int            `json:"count"`
					Match map[string]any `json:"match"`
				} `json:"filter"`
				Requires map[string]any `json:"requires"`
			} `json:"checks"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, old := doc.Requires["lt-version"]; old {
			continue
		}
		for _, c := range doc.Checks {
			if c.Filter == nil {
				continue
			}
			if _, old := c.Requires["lt-version"]; old {
				continue
			}
			et, _ := c.Filter.Match["event_type"].(string)
			for _, typ := range types {
				if et == typ {
					out = append(out, SuricataCheck{Count: c.Filter.Count, Match: c.Filter.Match})
				}
			}
		}
	}
	return out
}

// CheckSuricata applies checks to events rendered as eve-like field maps.
// Fields our events do not carry are left out of the match and named in
// the returned notes; the diffs are the checks whose count differs.
func CheckSuricata(checks []SuricataCheck, events []map[string]any) (diffs, notes []string, matched int) {
	for _, c := range checks {
		var keys, skipped []string
		for k := range c.Match {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		n := 0
		for _, ev := range events {
			ok := true
			for _, k := range keys {
				v, have := ev[k]
				if !have {
					continue
				}
				if !sameValue(v, c.Match[k]) {
					ok = false
					break
				}
			}
			if ok {
				n++
			}
		}
		for _, k := range keys {
			known := false
			for _, ev := range events {
				if _, have := ev[k]; have {
					known = true
					break
				}
			}
			if !known {
				skipped = append(skipped, k)
			}
		}
		if len(skipped) > 0 {
			notes = append(notes, fmt.Sprintf("not compared (no such field): %s", strings.Join(skipped, ", ")))
		}
		if n != c.Count {
			diffs = append(diffs, fmt.Sprintf("%d events match %v, want %d", n, c.Match, c.Count))
			continue
		}
		matched++
	}
	return diffs, notes, matched
}

func sameValue(got, want any) bool {
	if gs, ok := got.(string); ok {
		if ws, ok := want.(string); ok {
			if ga, err := netip.ParseAddr(gs); err == nil {
				if wa, err := netip.ParseAddr(ws); err == nil {
					return ga == wa
				}
			}
			return gs == ws
		}
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}
