package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
)

func oastQuery(i int) string {
	return fmt.Sprintf(`{"type":"dns","ts":"2026-11-02T09:00:%02dZ","srcIP":"10.0.%d.%d","destIP":"10.0.0.2","destPort":53,"proto":"udp","query":"x.oast.fun","qtype":"A"}`+"\n", i%60, i/250, i%250+1)
}

// TestKill9KeepsState: a running nfr-score saves --state right after
// flushing its alerts, so after kill -9 a restart on the same events writes
// none of the alerts already written.
func TestKill9KeepsState(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "score.state")
	cmd := exec.Command(testenv.Bin(t, "nfr-score"), "--state", state, "--stats-interval", "100ms")
	cmd.Env = append(os.Environ(), "NFR_CONFIG="+filepath.Join(testenv.Root(t), "config.yml"))
	in, _ := cmd.StdinPipe()
	var out bytes.Buffer
	errs := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = &out, errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var all strings.Builder
	for i := range 100 {
		all.WriteString(oastQuery(i))
	}
	io.WriteString(in, all.String())
	// Keep the stream going until a checkpoint has been made.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(state); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no state file while running; stderr %s", errs.String())
		}
		io.WriteString(in, oastQuery(0))
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	first := strings.Count(out.String(), "\n")
	if first != 100 {
		t.Errorf("first run wrote %d alerts, want 100", first)
	}
	if !strings.Contains(errs.String(), "alerts written") {
		t.Errorf("no --stats-interval line on stderr: %s", errs.String())
	}
	again, stderr, code := runBin(t, []byte(all.String()), "--state", state)
	if code != 0 || again != "" {
		t.Errorf("after kill -9: exit %d, %d alerts repeated; %s", code, strings.Count(again, "\n"), stderr)
	}
}

// TestStatsOnSIGUSR1: counters on stderr when asked, while running.
func TestStatsOnSIGUSR1(t *testing.T) {
	cmd := exec.Command(testenv.Bin(t, "nfr-score"))
	cmd.Env = append(os.Environ(), "NFR_CONFIG="+filepath.Join(testenv.Root(t), "config.yml"))
	in, _ := cmd.StdinPipe()
	errs := &testenv.SyncBuffer{}
	cmd.Stderr = errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	time.Sleep(200 * time.Millisecond) // signal handlers in place
	cmd.Process.Signal(syscall.SIGUSR1)
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; !strings.Contains(errs.String(), "events, "); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no stats after SIGUSR1: %s", errs.String())
		}
		io.WriteString(in, oastQuery(i))
		time.Sleep(50 * time.Millisecond)
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v; %s", err, errs.String())
	}
}
