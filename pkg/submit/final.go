package submit

import (
	"context"
	"fmt"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
)

// lastPollAttempts is how often the poll at the end of a run is tried.
const lastPollAttempts = 5

// Last is the poll at the end of a run: temporary failures (the engine
// restarting, a network blip) are retried with the mid-stream backoff, up
// to attempts times; if the server still cannot be reached, it warns and
// returns nil, since every event was accepted and the alerts not fetched
// wait on the server for the next run (the cursor is kept). A refused key
// is a *KeyError, an output error an error.
func (p *Poller) Last(ctx context.Context, attempts int) error {
	bo := api.Backoff{Min: p.RetryMin, Max: p.RetryMax}
	for i := 1; ; i++ {
		_, err := p.Once(ctx)
		switch {
		case err == nil, ctx.Err() != nil:
			return nil
		case api.IsKeyRejected(err):
			return &KeyError{Err: err}
		case !api.IsTemporary(err):
			return err
		case i >= attempts:
			p.Log.Warnf("last alert poll: %v, %d attempts; alerts not fetched yet stay on the server for the next run", err, attempts)
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(bo.Next(err)):
		}
	}
}

// Progress is a one-line account of the run so far, for SIGUSR1 and
// --stats-interval; safe to call from any goroutine.
func (r *Runner) Progress() string {
	if r.Sender == nil {
		return "polling alerts only"
	}
	info, _ := r.Sender.Stats().Summary()
	ev, bytes := r.Sender.Spool.Stats()
	return fmt.Sprintf("%s; %d events (%d bytes) in the spool, not yet accepted", info, ev, bytes)
}
