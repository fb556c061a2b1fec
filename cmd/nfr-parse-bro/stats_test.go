package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
)

// TestFollowerStats: a follower prints its counts on SIGUSR1 and every
// --stats-interval, and goes on.
func TestFollowerStats(t *testing.T) {
	for _, how := range []string{"SIGUSR1", "--stats-interval"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "dns.log")
			os.WriteFile(log, []byte(header+row(1, "one.example")+row(2, "two.example")), 0o644)
			args := []string{"-f", "--poll", "10ms", log}
			if how != "SIGUSR1" {
				args = append(args, "--stats-interval", "50ms")
			}
			cmd := exec.Command(testenv.Bin(t, "nfr-parse-bro"), args...)
			errs := &testenv.SyncBuffer{}
			cmd.Stderr = errs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(errs.String(), "2 events (dns 2), 0 skipped so far") {
				if time.Now().After(deadline) {
					t.Fatalf("no counts: %q", errs.String())
				}
				time.Sleep(100 * time.Millisecond)
				if how == "SIGUSR1" {
					cmd.Process.Signal(syscall.SIGUSR1)
				}
			}
			cmd.Process.Signal(syscall.SIGINT)
			if err := cmd.Wait(); err != nil {
				t.Errorf("exit after SIGINT: %v; %s", err, errs.String())
			}
		})
	}
}
