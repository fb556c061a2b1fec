package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
)

// TestMemoryBound: with the default caps (100,000 sources) and the default
// soft memory limit, 500,000 distinct sources, each with a lookup and a
// connection, stay under 256 MB of peak RSS: 223 MiB measured, against
// 310 MiB with the limit off (NFR_TEST_GOMEMLIMIT=off), where GOGC 400
// lets the heap grow to several times the capped state.
func TestMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 200 MB input")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "events.json")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	const sources = 500000
	for i := range sources {
		src := fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255)
		dst := fmt.Sprintf("93.%d.%d.%d", 184+i>>16, i>>8&255, i&255)
		ts := fmt.Sprintf("2026-11-02T09:%02d:%02d.%03dZ", i/60000%60, i/1000%60, i%1000)
		fmt.Fprintf(f, `{"type":"dns","ts":"%s","srcIP":"%s","destIP":"10.0.0.2","destPort":53,"proto":"udp","query":"www.site%d.example.com","qtype":"A","rcode":"NOERROR","answers":["%s"]}`+"\n", ts, src, i, dst)
		fmt.Fprintf(f, `{"type":"ip","ts":"%s","srcIP":"%s","destIP":"%s","destPort":443,"proto":"tcp","bytesOut":600,"bytesIn":4000,"pktsOut":6,"pktsIn":6,"connState":"SF"}`+"\n", ts, src, dst)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.Bin(t, "nfr-score"), "--stats", in)
	cmd.Env = append(os.Environ(), "NFR_CONFIG="+filepath.Join(testenv.Root(t), "config.yml"), "GOMEMLIMIT="+os.Getenv("NFR_TEST_GOMEMLIMIT"), "GOGC=")
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss >> 10 // KiB to MiB
	t.Logf("%d sources: peak RSS %d MiB; %s", sources, peak, strings.TrimSpace(errb.String()))
	if !strings.Contains(errb.String(), "100000 sources") {
		t.Errorf("the source cap did not hold: %s", errb.String())
	}
	if peak >= 256 {
		t.Errorf("peak RSS %d MiB, want < 256", peak)
	}
}
