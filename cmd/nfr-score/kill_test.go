package main

import (
	"encoding/json"
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
	out := &testenv.SyncBuffer{}
	errs := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var all strings.Builder
	for i := range 100 {
		all.WriteString(oastQuery(i))
	}
	io.WriteString(in, all.String())
	// Keep the stream going until the 100 alerts are out (events are held
	// for reordering until the input pauses or moves on) and a checkpoint
	// has been made after them.
	deadline := time.Now().Add(20 * time.Second)
	var written time.Time
	for {
		if written.IsZero() && strings.Count(out.String(), "\n") >= 100 {
			written = time.Now()
		}
		if st, err := os.Stat(state); err == nil && !written.IsZero() && st.ModTime().After(written) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint after the alerts while running; stderr %s", errs.String())
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
	// The replayed events fold into the incidents the checkpoint holds:
	// no incident is raised again (no alert with count 1, no new id); what
	// may follow are updates of the incidents already written.
	ids := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		ids[alertField(t, l, "id")] = true
	}
	again, stderr, code := runBin(t, []byte(all.String()), "--state", state)
	if code != 0 {
		t.Fatalf("after kill -9: exit %d; %s", code, stderr)
	}
	raised := 0
	for _, l := range strings.Split(strings.TrimSpace(again), "\n") {
		if l != "" && (!ids[alertField(t, l, "id")] || alertField(t, l, "count") == "1") {
			raised++
		}
	}
	if raised > 0 {
		t.Errorf("after kill -9: %d incidents raised again", raised)
	}
}

// alertField returns a top-level field of an alert line as text.
func alertField(t *testing.T, line, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return fmt.Sprint(m[key])
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
