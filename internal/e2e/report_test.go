package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
)

// TestReadReport runs `nfr read testdata/demo.pcap --report FILE`: the
// alerts still go to stderr, and the page holds every one of them.
func TestReadReport(t *testing.T) {
	bins := testenv.BinDir(t, "nfr-capture", "nfr-scope", "nfr-score", "nfr-report", "nfr-check")
	demo := filepath.Join(testenv.Root(t), "testdata", "demo.pcap")
	dir := t.TempDir()
	page := filepath.Join(dir, "demo.html")
	cmd := exec.Command(filepath.Join(testenv.Root(t), "scripts", "nfr"), "read", demo, "--report", page)
	cmd.Env = []string{"PATH=" + bins + ":" + os.Getenv("PATH"), "HOME=" + dir}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("nfr read --report: %v\n%s", err, stderr.String())
	}
	alerts, incidents := 0, map[string]bool{}
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(l, `{"type":"alert"`) {
			alerts++
			if m := regexp.MustCompile(`"id":"([0-9a-f]+)"`).FindStringSubmatch(l); m != nil {
				incidents[m[1]] = true
			}
		}
	}
	if alerts < 10 {
		t.Fatalf("only %d alerts on stderr:\n%s", alerts, stderr.String())
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	// One row per incident: its updates fold into it.
	if n := strings.Count(string(html), `<tr class="a" id="alert-`); n != len(incidents) {
		t.Errorf("the report holds %d alerts, stderr %d incidents", n, len(incidents))
	}
	// Diagnostics go to log.file, standard output by default, never into
	// the alert stream.
	if !strings.Contains(stdout.String(), "nfr-report: ") {
		t.Errorf("nfr-report said nothing on standard output (log.file)")
	}

	// -n shows where nfr-report sits.
	cmd = exec.Command(filepath.Join(testenv.Root(t), "scripts", "nfr"), "-n", "read", "--report=r.html", demo)
	cmd.Env = cmd.Env[:0:0]
	cmd.Env = append(cmd.Env, "PATH="+bins+":"+os.Getenv("PATH"), "HOME="+dir)
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "| nfr-score | nfr-report --tee -o r.html >&2") {
		t.Errorf("nfr -n read --report: %v %q", err, out)
	}
}
