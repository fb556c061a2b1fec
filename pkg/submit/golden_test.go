package submit

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/event"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestAlertsGolden turns an alerts answer into alert lines and compares them
// with testdata/alerts.golden.ndjson; every line must also read back through
// pkg/event, the stream's reference reader, with the type, eventType,
// severity, threats and flags the answer says.
func TestAlertsGolden(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "alerts.answer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r api.AlertsResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var errs []string
	for i := range r.Alerts {
		line, err := AlertLine(nil, &r.Alerts[i], r.Threats)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		out.Write(line)
		out.WriteByte('\n')

		var e event.Event
		if err := event.Unmarshal(line, &e); err != nil {
			t.Fatalf("alert %d does not read back: %v", i, err)
		}
		a := r.Alerts[i]
		want := 0
		for _, id := range a.Threats {
			want = max(want, r.Threats[id].Severity)
			if _, ok := e.Threats[id]; !ok {
				t.Errorf("alert %d: threat %s missing", i, id)
			}
		}
		if e.Type != event.TypeAlert || e.EventType != a.EventType || e.Severity != want || strings.Join(e.Flags, ",") != strings.Join(a.Wisdom.Flags, ",") {
			t.Errorf("alert %d reads back as type %q eventType %q severity %d flags %v", i, e.Type, e.EventType, e.Severity, e.Flags)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "not a JSON object") {
		t.Errorf("errors %q, want one for the event that is an array", errs)
	}
	golden := filepath.Join("testdata", "alerts.golden.ndjson")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("output differs from %s (run go test -update to accept):\n%s", golden, out.Bytes())
	}
}
