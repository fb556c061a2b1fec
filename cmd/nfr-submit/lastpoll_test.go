package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/faultserver"
)

// TestLastPollFails: every event is accepted but the alert endpoint is
// gone by the end (every poll reset): the last poll is retried, then the
// run ends 0 with a warning, since nothing was lost.
func TestLastPollFails(t *testing.T) {
	e := newEnv(t, "")
	e.srv.Inject("/v1/alerts", faultserver.Fault{Kind: faultserver.Reset}, 1<<20)
	code, _, errs := e.run(strings.NewReader(events(0, 200)))
	if code != 0 || !strings.Contains(errs, "warning: last alert poll: ") || !strings.Contains(errs, "5 attempts; alerts not fetched yet stay on the server") {
		t.Errorf("exit %d\n%s", code, errs)
	}
	e.exactlyOnce(200)
}

// TestProgress: a long-running nfr-submit tells what it sent so far every
// --stats-interval and on SIGUSR1.
func TestProgress(t *testing.T) {
	e := newEnv(t, "")
	cmd, _, errb := e.cmd(nil, "--no-alerts", "--stats-interval", "50ms")
	in, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	io.WriteString(in, events(0, 10))
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(errb.String(), "read 11 events; sent 2 batches; the server accepted 11 events; 0 events (0 bytes) in the spool") {
		if time.Now().After(deadline) {
			t.Fatalf("no progress: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v; %s", err, errb.String())
	}
}
