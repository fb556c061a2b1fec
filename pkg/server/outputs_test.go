package server

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/alert"
)

// TestAlertOutputs: the engine hands every stored alert to nfr-alert's
// outputs (here a CEF file) and shows their counters in /metrics.
func TestAlertOutputs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.cef")
	outs := []*alert.Output{{Name: "siem", Dest: alert.Dest{URL: "file:" + path}, Format: alert.Formatter{Name: "cef"},
		QueueDir: filepath.Join(dir, "q")}}
	f := &alert.Filter{Outputs: outs, Sensor: "engine-1"}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Config{Outputs: f}, false)
	key := e.key("acme")
	e.post(key, "dns", dnsBatch(5, 1), nil)
	var got []byte
	for i := 0; i < 200 && bytes.Count(got, []byte("\n")) < 1; i++ {
		time.Sleep(20 * time.Millisecond)
		got, _ = os.ReadFile(path)
	}
	if !bytes.HasPrefix(got, []byte("CEF:0|AlphaSOC|NFR|")) || !bytes.Contains(got, []byte("dvchost=engine-1")) || bytes.Count(got, []byte("\n")) != 1 {
		t.Fatalf("delivered %q", got)
	}
	_, b := e.do("GET", "/metrics", "", nil, nil)
	text := string(b)
	for _, want := range []string{`nfr_alert_delivered_total{output="siem"} 1`, `nfr_alert_queued{output="siem"} 0`, `nfr_alert_failed_total{output="siem"} 0`} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if !strings.HasPrefix(line, "# ") && !metricLine.MatchString(line) {
			t.Errorf("bad exposition line %q", line)
		}
	}
	if q := f.Drain(time.Second); q != 0 {
		t.Errorf("%d queued", q)
	}
}
