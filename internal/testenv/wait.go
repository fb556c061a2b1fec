package testenv

import (
	"os/exec"
	"testing"
	"time"
)

// WaitExit waits for a started cmd to end and returns its error, failing
// the test (with stderr) if it is still running after d.
func WaitExit(t testing.TB, cmd *exec.Cmd, d time.Duration, stderr *SyncBuffer) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		cmd.Process.Kill()
		t.Fatalf("%s still running %s after it was asked to stop; stderr: %s", cmd.Path, d, stderr.String())
		return nil
	}
}
