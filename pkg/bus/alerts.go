package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/nfr-project/nfr/pkg/config"
)

// AlertReader is nfr-alert's input from the alerts topic: a member of its
// own consumer group that reads committed records only (an engine's
// aborted transaction never shows), hands each polled batch to Accept and
// commits the batch's offsets only once Accept returned. Accept returns
// when nfr-alert holds the alerts in its queue on disk, its point of no
// return; a crash between the two hands the batch over again on the next
// run: at least once, never lost.
//
// Rebalances wait while a batch is in hand (between the poll and the
// commit), so a partition never moves with alerts accepted here but not
// committed, and its next owner does not deliver them again.
type AlertReader struct {
	// Kafka names the brokers, AlertsTopic (created when absent) and Group.
	Kafka config.Kafka
	// ID names the client in the brokers' logs.
	ID string
	// Accept takes a batch of alert lines (the slices are valid during
	// the call only). An error stops Run and nothing of the batch is
	// committed.
	Accept func(lines [][]byte) error
	// MaxPoll is the most records in one batch (default 5000).
	MaxPoll int
	// Session is the group session timeout (default 10s).
	Session time.Duration
	Warn    func(string)
	// Opts are extra client options (tests).
	Opts []kgo.Opt

	mu    sync.Mutex
	stats AlertReaderStats
}

// AlertReaderStats counts what an AlertReader did.
type AlertReaderStats struct {
	Records   int64 // records accepted
	Committed int64 // records whose offsets were committed
	Failed    int64 // commits that failed (their records come again)
}

// Stats returns the counters.
func (r *AlertReader) Stats() AlertReaderStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Run reads until ctx ends, commits what was accepted and leaves the
// group. It returns nil when ctx ends, and an error when it cannot start
// or Accept failed.
func (r *AlertReader) Run(ctx context.Context) error {
	if r.MaxPoll <= 0 {
		r.MaxPoll = 5000
	}
	if r.Session <= 0 {
		r.Session = 10 * time.Second
	}
	if r.Warn == nil {
		r.Warn = func(string) {}
	}
	k := &r.Kafka
	opts, err := clientOptions(k, "nfr-alert-"+r.ID)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(append(opts,
		kgo.ConsumerGroup(k.Group),
		kgo.ConsumeTopics(k.AlertsTopic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(r.Session),
		kgo.HeartbeatInterval(r.Session/10),
	), r.Opts...)...)
	if err != nil {
		return err
	}
	defer cl.CloseAllowingRebalance()
	if err := ensureTopics(ctx, cl, k, topicSpec{name: k.AlertsTopic}); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	// The commit after the last batch must go out even when ctx ended
	// while the batch was being accepted.
	bg := context.WithoutCancel(ctx)
	var lines [][]byte
	for {
		fs := cl.PollRecords(ctx, r.MaxPoll)
		if fs.IsClientClosed() {
			return nil
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				r.Warn(fmt.Sprintf("fetching %s/%d: %v", t, p, err))
			}
		})
		lines = lines[:0]
		fs.EachRecord(func(rec *kgo.Record) { lines = append(lines, rec.Value) })
		if len(lines) > 0 {
			if err := r.Accept(lines); err != nil {
				cl.AllowRebalance()
				return err
			}
			cctx, cancel := context.WithTimeout(bg, 3*r.Session)
			err := cl.CommitUncommittedOffsets(cctx)
			cancel()
			r.mu.Lock()
			r.stats.Records += int64(len(lines))
			if err != nil {
				r.stats.Failed++
			} else {
				r.stats.Committed += int64(len(lines))
			}
			r.mu.Unlock()
			if err != nil {
				r.Warn(fmt.Sprintf("committing the offsets of %d alerts: %v (they will be delivered again)", len(lines), err))
			}
		}
		cl.AllowRebalance()
		if ctx.Err() != nil {
			return nil
		}
	}
}
