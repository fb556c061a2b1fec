package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/scripts/genthreats/traffic"
)

// TestGeneratedCaptures writes a real capture for every behaviour with
// scripts/genthreats and runs it through the pipeline users run,
// nfr-capture | nfr-scope | nfr-score: each behaviour must raise its threat,
// and benign traffic nothing.
func TestGeneratedCaptures(t *testing.T) {
	gen := buildTool(t, "scripts/genthreats")
	capture := testenv.Bin(t, "nfr-capture")
	scope := testenv.Bin(t, "nfr-scope")
	score := testenv.Bin(t, "nfr-score")
	dir := t.TempDir()
	feed := filepath.Join(dir, "c2.txt")
	os.WriteFile(feed, []byte(traffic.C2Domain+"\n"+traffic.C2Addr+"\n"), 0o644)
	for _, sc := range traffic.Scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			pcap := filepath.Join(dir, sc.Name+".pcap")
			if out, err := exec.Command(gen, "-scenario", sc.Name, "-o", pcap).CombinedOutput(); err != nil {
				t.Fatalf("genthreats: %v\n%s", err, out)
			}
			sh := exec.Command("bash", "-o", "pipefail", "-c", `"$1" -r "$2" | "$3" | "$4" --feed "$5"`,
				"sh", capture, pcap, scope, score, feed)
			sh.Env = append(os.Environ(), "NFR_CONFIG=")
			var stderr strings.Builder
			sh.Stderr = &stderr
			out, err := sh.Output()
			if err != nil {
				t.Fatalf("pipeline: %v\n%s", err, stderr.String())
			}
			got := alertSet(t, out)
			if sc.Threat == "" {
				if len(got) > 0 {
					t.Errorf("benign traffic raised alerts: %q", got)
				}
				return
			}
			for _, a := range got {
				if strings.Split(a, " ")[1] == sc.Threat {
					return
				}
			}
			t.Errorf("no %s alert from the capture; got %q", sc.Threat, got)
		})
	}
}
