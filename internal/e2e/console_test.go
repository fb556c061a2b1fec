package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/nfr-project/nfr/internal/browser"
	"github.com/nfr-project/nfr/internal/testenv"
)

// TestConsoleShowsSubmittedAlerts feeds nfr-engine the demo capture through
// `nfr read` (nfr-submit) and signs in to its console in Chromium: the
// overview lists every alert the sensor got back.
func TestConsoleShowsSubmittedAlerts(t *testing.T) {
	bins := testenv.BinDir(t, "nfr-capture", "nfr-scope", "nfr-score", "nfr-submit", "nfr-engine", "nfr-check")
	demo := filepath.Join(testenv.Root(t), "testdata", "demo.pcap")
	url, key := startEngine(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.yml")
	os.WriteFile(conf, []byte("alphasoc:\n  host: "+url+"\n  api_key: "+key+"\nsubmit:\n  spool: "+filepath.Join(dir, "spool")+"\n"), 0o600)
	cmd := exec.Command(filepath.Join(testenv.Root(t), "scripts", "nfr"), "read", demo)
	cmd.Env = []string{"PATH=" + bins + ":" + os.Getenv("PATH"), "HOME=" + dir, "NFR_CONFIG=" + conf}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("nfr read: %v\n%s", err, stderr.String())
	}
	alerts := bytes.Count(stderr.Bytes(), []byte(`{"type":"alert"`))
	if alerts < 10 {
		t.Fatalf("only %d alerts came back from the engine:\n%s", alerts, stderr.String())
	}

	tab := browser.New(t)
	tab.Do(chromedp.Navigate(url+"/"), chromedp.WaitVisible(chromedp.ID("key")), chromedp.SendKeys(chromedp.ID("key"), key))
	tab.Click("#signin")
	tab.Do(chromedp.WaitVisible(chromedp.ID("alert-rows")))
	tab.Shot("console-demo")
	if n := browser.Eval[int](tab, `document.querySelectorAll('#alert-rows tr.a').length`); n != alerts {
		t.Errorf("the console lists %d alerts, the sensor got %d", n, alerts)
	}
	if got := browser.Eval[string](tab, `document.getElementById('n-alerts').textContent`); got != strconv.Itoa(alerts) {
		t.Errorf("the overview counts %s alerts, the sensor got %d", got, alerts)
	}
	// Triage one, as an analyst would.
	tab.Click(`#alert-rows tr.a`)
	tab.Click(`#alert-rows tr.d a.open`)
	tab.Do(chromedp.WaitVisible(chromedp.ID("t-note")), chromedp.SendKeys(chromedp.ID("t-note"), "known lab host, reimaged on Monday"))
	tab.Click("#t-ack")
	tab.Do(chromedp.WaitVisible(chromedp.ID("notice")))
	if got := browser.Eval[string](tab, `document.getElementById('status').textContent`); got != "acknowledged" {
		t.Errorf("status %q after Acknowledge", got)
	}
	tab.Shot("console-demo-alert")
	tab.Check()
}
