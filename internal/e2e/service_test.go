package e2e

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

// Two Ctrl-C to nfr-score still save --state, and the exit status says a
// signal stopped it.
func TestScoreSavesStateOnSecondInterrupt(t *testing.T) {
	state := filepath.Join(t.TempDir(), "score.state")
	cmd := exec.Command(testenv.Bin(t, "nfr-score"), "--state", state)
	cmd.Env = append(os.Environ(), "NFR_CONFIG=/dev/null")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testenv.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	in.Write([]byte(`{"type":"dns","ts":"2024-01-01T00:00:00Z","srcIP":"10.0.0.1","query":"example.com","qtype":"A"}` + "\n"))
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("nfr-score did not stop on a second SIGINT; stderr %q", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130; stderr %q", code, stderr.String())
	}
	if st, err := os.Stat(state); err != nil || st.Size() == 0 {
		t.Errorf("state not saved on the second interrupt: %v", err)
	}
}

func TestScoreRejectsBadOptionsBeforeReading(t *testing.T) {
	r := testenv.RunBin(t, "nfr-score", nil, "-s", "9")
	if r.Code != 2 || !strings.Contains(r.Stderr, "outside 0-5") {
		t.Errorf("nfr-score -s 9: exit %d, stderr %q", r.Code, r.Stderr)
	}
	// stdin is never closed: the check must come before the first read.
	cmd := exec.Command(testenv.Bin(t, "nfr-score"), "--state", "/missing/dir/x")
	cmd.Env = append(os.Environ(), "NFR_CONFIG=/dev/null")
	pr, pw, _ := os.Pipe()
	defer pw.Close()
	cmd.Stdin = pr
	out, err := runTimeout(cmd, 10*time.Second)
	pr.Close()
	if err == nil || !strings.Contains(out, "/missing/dir does not exist") {
		t.Errorf("--state /missing/dir/x: %v, %q", err, out)
	}
}

// runTimeout runs cmd and returns its combined output, killing it after d.
func runTimeout(cmd *exec.Cmd, d time.Duration) (string, error) {
	var b testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Start(); err != nil {
		return "", err
	}
	t := time.AfterFunc(d, func() { cmd.Process.Kill() })
	defer t.Stop()
	err := cmd.Wait()
	return b.String(), err
}
