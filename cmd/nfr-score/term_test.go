package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
)

// TestSIGTERMOnEndlessInput: a producer that never stops writing; one
// SIGTERM makes nfr-score score what is waiting, save its state and exit 0.
func TestSIGTERMOnEndlessInput(t *testing.T) {
	state := filepath.Join(t.TempDir(), "score.state")
	cmd := exec.Command(testenv.Bin(t, "nfr-score"), "--state", state)
	cmd.Env = append(os.Environ(), "NFR_CONFIG="+filepath.Join(testenv.Root(t), "config.yml"))
	in, _ := cmd.StdinPipe()
	cmd.Stdout = io.Discard
	errs := &testenv.SyncBuffer{}
	cmd.Stderr = errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	go func() { // endless
		for i := 0; ; i++ {
			if _, err := io.WriteString(in, oastQuery(i%5000)); err != nil {
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := testenv.WaitExit(t, cmd, 15*time.Second, errs); err != nil {
		t.Fatalf("exit: %v; %s", err, errs.String())
	}
	if _, err := os.Stat(state); err != nil {
		t.Errorf("no state saved: %v", err)
	}
}
