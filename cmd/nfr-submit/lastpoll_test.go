package main

import (
	"strings"
	"testing"

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
