package bus

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/score"
)

// Engine is one member of the engine group. Each events partition it is
// assigned is scored by its own score.Engine, so a partition's detector
// state can move to another member as a whole.
//
// State is checkpointed per partition, not per source: the engine's
// windows are not all per source (per-domain tunnelling counters, resolved
// addresses and callers of a name are shared by the sources that use
// them), and splitting them would change what is detected. Since the
// events are keyed by source, a partition holds every event of its sources
// and its state is complete. A checkpoint record holds the partition's
// next offset and the saved state; it is written in a transaction with
// the alerts and the offsets, at most every CheckpointEvery or
// CheckpointEvents. A new owner loads the latest committed checkpoint and
// replays the partition from the checkpoint's offset to the group's
// committed offset without emitting (those alerts are already in the
// alerts topic), then scores on: nothing is lost and nothing repeated.
type Engine struct {
	Kafka config.Kafka
	// ID names this member; the transactional id is GROUP-ID, so it must
	// be unique in the group and stable across restarts of one member.
	ID string
	// New makes the score.Engine of a partition.
	New func() (*score.Engine, error)
	// CheckpointEvery and CheckpointEvents bound the replay after a
	// partition moves (defaults 10s and 200000 events).
	CheckpointEvery  time.Duration
	CheckpointEvents int
	// MaxPoll is the most records scored in one transaction (default 20000).
	MaxPoll int
	// Session is the group session timeout (default 10s): how long a killed
	// member holds its partitions.
	Session time.Duration
	Warn    func(string)
	// Opts are extra client options (tests).
	Opts []kgo.Opt

	mu    sync.Mutex
	parts map[int32]*partition
	stats EngineStats
	base  []kgo.Opt
	// midTxn, when set, is called in each transaction once its records
	// are produced, before it ends: the tests kill a member there, with a
	// transaction open.
	midTxn func(*kgo.Client)
}

// EngineStats counts what an Engine did.
type EngineStats struct {
	Events      int64 // records scored and committed
	Alerts      int64 // alerts committed
	Bad         int64 // records that were not events, skipped
	Replayed    int64 // records replayed after restoring a checkpoint
	Restores    int64 // partitions restored
	Checkpoints int64 // checkpoints committed
	Aborted     int64 // transactions aborted (a rebalance): their work is redone
	Sessions    int64 // sessions replaced after a failure
	Rewinds     int64 // consumer resets behind what was scored, skipped forward
}

type partition struct {
	eng   *score.Engine
	next  int64 // offset after the last record scored
	since int   // records since the last checkpoint
	saved time.Time
	dirty bool // records scored in the open transaction
	ckpt  bool // checkpointed in the open transaction
}

// Stats returns the counters.
func (e *Engine) Stats() EngineStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

func (e *Engine) defaults() {
	if e.CheckpointEvery <= 0 {
		e.CheckpointEvery = 10 * time.Second
	}
	if e.CheckpointEvents <= 0 {
		e.CheckpointEvents = 200000
	}
	if e.MaxPoll <= 0 {
		e.MaxPoll = 20000
	}
	if e.Session <= 0 {
		e.Session = 10 * time.Second
	}
	if e.Warn == nil {
		e.Warn = func(string) {}
	}
}

// sessionError is a failure of the transactional session (a coordinator
// that moved, a fenced producer): the session is replaced and the
// partitions restored from their checkpoints.
type sessionError struct{ err error }

func (e *sessionError) Error() string { return e.err.Error() }

// Run consumes until ctx ends, then leaves the group. A batch in hand
// when ctx ends is finished and its transaction committed (or aborted,
// when that fails), so a stopped member leaves nothing open. It returns
// nil when ctx ends and an error when it cannot start (no brokers, bad
// topics).
func (e *Engine) Run(ctx context.Context) error {
	e.defaults()
	base, err := clientOptions(&e.Kafka, "nfr-engine-"+e.ID)
	if err != nil {
		return err
	}
	e.base = append(base, e.Opts...)
	e.parts = map[int32]*partition{}
	for {
		err := e.session(ctx)
		var se *sessionError
		if ctx.Err() != nil {
			return nil
		}
		if !errors.As(err, &se) {
			return err
		}
		e.Warn(fmt.Sprintf("%v; starting a new session", err))
		e.reset()
		e.mu.Lock()
		e.stats.Sessions++
		e.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func (e *Engine) session(ctx context.Context) error {
	k := &e.Kafka
	drop := func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, p := range lost[k.Topic] {
			delete(e.parts, p)
		}
	}
	sess, err := kgo.NewGroupTransactSession(append(e.base,
		kgo.ConsumerGroup(k.Group),
		kgo.ConsumeTopics(k.Topic),
		kgo.TransactionalID(k.Group+"-"+e.ID),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.SessionTimeout(e.Session),
		kgo.HeartbeatInterval(e.Session/10),
		kgo.RebalanceTimeout(3*e.Session),
		kgo.TransactionTimeout(3*e.Session),
		kgo.RecordDeliveryTimeout(3*e.Session),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchMaxBytes(maxRecordBytes),
		kgo.RecordPartitioner(kgo.BasicConsistentPartitioner(e.partitioner)),
		kgo.OnPartitionsRevoked(drop),
		kgo.OnPartitionsLost(drop),
	)...)
	if err != nil {
		return err
	}
	defer sess.Close()
	adm := kadm.NewClient(sess.Client())
	if err := ensureTopics(ctx, sess.Client(), k, topicSpec{name: k.Topic}, topicSpec{name: k.AlertsTopic},
		topicSpec{name: k.StateTopic, compact: true}); err != nil {
		return err
	}

	// A transaction once begun is finished whether or not ctx ends
	// meanwhile: its records are produced and it is ended under tctx.
	tctx := context.WithoutCancel(ctx)
	var ev event.Event
	var line []byte
	for {
		fs := sess.PollRecords(ctx, e.MaxPoll)
		if ctx.Err() != nil {
			return nil
		}
		if fs.IsClientClosed() {
			return nil
		}
		fs.EachError(func(t string, p int32, err error) {
			e.Warn(fmt.Sprintf("fetching %s/%d: %v", t, p, err))
		})
		if fs.NumRecords() == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			return &sessionError{fmt.Errorf("beginning a transaction: %v", err)}
		}
		var produceErr error
		var emu sync.Mutex
		promise := func(_ *kgo.Record, err error) {
			if err != nil {
				emu.Lock()
				if produceErr == nil {
					produceErr = err
				}
				emu.Unlock()
			}
		}
		var nev, nalerts, nbad, nckpt int64
		emit := func(a *event.Event) {
			line = a.AppendJSON(line[:0])
			val := append([]byte(nil), line...)
			sess.Produce(tctx, &kgo.Record{Topic: k.AlertsTopic, Key: []byte(a.SrcIP.String()), Value: val}, promise)
			nalerts++
		}
		var failed error
		var rewound map[int32]kgo.EpochOffset
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			if failed != nil || len(fp.Records) == 0 {
				return
			}
			pt, err := e.partition(ctx, adm, fp.Partition, fp.Records[0].Offset)
			if err != nil {
				failed = err
				return
			}
			for _, r := range fp.Records {
				if r.Offset < pt.next {
					continue // already in the restored state
				}
				if !decode(r, &ev) {
					nbad++
				} else {
					pt.eng.Process(&ev, emit)
					nev++
				}
				pt.next = r.Offset + 1
				pt.since++
			}
			pt.dirty = true
			if fp.Records[len(fp.Records)-1].Offset+1 < pt.next {
				if rewound == nil {
					rewound = map[int32]kgo.EpochOffset{}
				}
				rewound[fp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: pt.next}
			}
		})
		if rewound != nil {
			// The consumer was reset behind what is scored (a broker that
			// came back seemed to have lost records, and the client
			// rewound). The transaction would commit the rewound offset:
			// the partition's next owner would then score again, and
			// alert again on, what was scored. Consuming (and committing)
			// goes on from what is scored instead.
			sess.Client().SetOffsets(map[string]map[int32]kgo.EpochOffset{k.Topic: rewound})
			e.mu.Lock()
			e.stats.Rewinds += int64(len(rewound))
			e.mu.Unlock()
		}
		if failed != nil {
			actx, cancel := context.WithTimeout(tctx, 3*e.Session)
			sess.End(actx, kgo.TryAbort)
			cancel()
			e.reset()
			if ctx.Err() != nil {
				return nil
			}
			e.Warn(failed.Error())
			continue
		}
		e.mu.Lock()
		for p, pt := range e.parts {
			if pt.dirty && (pt.since >= e.CheckpointEvents || time.Since(pt.saved) >= e.CheckpointEvery) {
				var buf bytes.Buffer
				buf.Write(binary.BigEndian.AppendUint64(nil, uint64(pt.next)))
				if err := pt.eng.SaveState(&buf); err != nil {
					e.mu.Unlock()
					return fmt.Errorf("saving the state of partition %d: %v", p, err)
				}
				sess.Produce(tctx, &kgo.Record{Topic: k.StateTopic, Partition: p, Key: partitionKey(k.Topic, p), Value: buf.Bytes()}, promise)
				pt.ckpt = true
				nckpt++
			}
		}
		e.mu.Unlock()
		if e.midTxn != nil {
			e.midTxn(sess.Client())
		}
		// End flushes the records first: a produce error shows only after.
		endCtx, endCancel := context.WithTimeout(tctx, 3*e.Session)
		promise(nil, sess.Client().Flush(endCtx))
		try := kgo.TryCommit
		emu.Lock()
		if produceErr != nil {
			e.Warn(fmt.Sprintf("producing: %v; aborting the transaction", produceErr))
			try = kgo.TryAbort
		}
		emu.Unlock()
		// A transaction that cannot end in time (a coordinator lost with a
		// broker) fails the session, which is then replaced.
		committed, err := sess.End(endCtx, try)
		endCancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return &sessionError{fmt.Errorf("ending a transaction: %v", err)}
		}
		if !committed {
			// The offsets went back to the last commit: the states scored
			// past it are dropped and restored from the changelog.
			e.reset()
			e.mu.Lock()
			e.stats.Aborted++
			e.mu.Unlock()
			continue
		}
		now := time.Now()
		e.mu.Lock()
		for _, pt := range e.parts {
			if pt.ckpt {
				pt.since, pt.saved = 0, now
			}
			pt.dirty, pt.ckpt = false, false
		}
		e.stats.Events += nev
		e.stats.Alerts += nalerts
		e.stats.Bad += nbad
		e.stats.Checkpoints += nckpt
		e.mu.Unlock()
	}
}

// decode reads an event record; the type header fills a missing type.
func decode(r *kgo.Record, ev *event.Event) bool {
	if err := event.Unmarshal(r.Value, ev); err != nil {
		return false
	}
	if ev.Type == "" {
		for _, h := range r.Headers {
			if h.Key == "type" {
				ev.Type = string(h.Value)
			}
		}
	}
	return !ev.TS.IsZero() && ev.SrcIP.IsValid()
}

func (e *Engine) reset() {
	e.mu.Lock()
	clear(e.parts)
	e.mu.Unlock()
}

// partitioner puts a state record in the state partition of the same
// number as its events partition, so a restore reads one partition, and
// spreads alerts by a hash of their key.
func (e *Engine) partitioner(topic string) func(*kgo.Record, int) int {
	if topic == e.Kafka.StateTopic {
		return func(r *kgo.Record, n int) int { return int(r.Partition) % n }
	}
	return func(r *kgo.Record, n int) int {
		h := fnv.New32a()
		h.Write(r.Key)
		return int(h.Sum32() % uint32(n))
	}
}

// adminTimeout bounds each offsets request of a restore: a request sent to
// a broker that died and came back can wait for an answer that never
// comes, while the member, heartbeating, keeps the partition. Past it the
// restore fails, the transaction is aborted and the restore tried again.
const adminTimeout = 10 * time.Second

func partitionKey(topic string, p int32) []byte { return fmt.Appendf(nil, "%s/%d", topic, p) }

// partition returns the state of events partition p, restoring it when
// this member has none: the latest committed checkpoint, then the records
// from its offset up to the group's committed offset (or first, the first
// record fetched, if later) replayed without emitting.
func (e *Engine) partition(ctx context.Context, adm *kadm.Client, p int32, first int64) (*partition, error) {
	e.mu.Lock()
	pt := e.parts[p]
	e.mu.Unlock()
	if pt != nil {
		return pt, nil
	}
	k := &e.Kafka
	eng, err := e.New()
	if err != nil {
		return nil, err
	}
	pt = &partition{eng: eng}
	next, state, err := e.lastCheckpoint(ctx, adm, p)
	if err != nil {
		return nil, fmt.Errorf("restoring partition %d: %v", p, err)
	}
	if state != nil {
		if err := eng.LoadState(bytes.NewReader(state)); err != nil {
			return nil, fmt.Errorf("restoring partition %d: %v", p, err)
		}
		pt.next = next
	} else {
		actx, cancel := context.WithTimeout(ctx, adminTimeout)
		starts, err := adm.ListStartOffsets(actx, k.Topic)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("restoring partition %d: %v", p, err)
		}
		if o, ok := starts.Lookup(k.Topic, p); ok && o.Err == nil {
			pt.next = o.Offset
		}
	}
	// Replay up to the group's committed offset: the first record fetched
	// is usually there, but a consumer reset (a broker's "lost records")
	// can put it before.
	until := first
	actx, cancel := context.WithTimeout(ctx, adminTimeout)
	offs, err := adm.FetchOffsets(actx, k.Group)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("restoring partition %d: reading the group's offsets: %v", p, err)
	}
	if o, ok := offs.Lookup(k.Topic, p); ok && o.Err == nil && o.At > until {
		until = o.At
	}
	var ev event.Event
	var replayed int64
	discard := func(*event.Event) {}
	err = e.readRange(ctx, k.Topic, p, pt.next, until, func(r *kgo.Record) {
		if decode(r, &ev) {
			eng.Process(&ev, discard)
		}
		pt.next = r.Offset + 1
		replayed++
	})
	if err != nil {
		return nil, fmt.Errorf("replaying partition %d: %v", p, err)
	}
	pt.since = int(replayed)
	pt.saved = time.Now()
	if state == nil {
		pt.saved = time.Time{} // checkpoint at once
	}
	e.mu.Lock()
	e.parts[p] = pt
	e.stats.Restores++
	e.stats.Replayed += replayed
	e.mu.Unlock()
	return pt, nil
}

// lastCheckpoint returns the latest committed checkpoint of events
// partition p, or a nil state when there is none. It reads the tail of the
// state partition first, the whole partition only when the tail holds
// aborted transactions alone.
func (e *Engine) lastCheckpoint(ctx context.Context, adm *kadm.Client, p int32) (int64, []byte, error) {
	k := &e.Kafka
	actx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	starts, err := adm.ListStartOffsets(actx, k.StateTopic)
	if err != nil {
		return 0, nil, err
	}
	ends, err := adm.ListCommittedOffsets(actx, k.StateTopic)
	if err != nil {
		return 0, nil, err
	}
	s, ok1 := starts.Lookup(k.StateTopic, p)
	end, ok2 := ends.Lookup(k.StateTopic, p)
	switch {
	case !ok1 || !ok2:
		return 0, nil, fmt.Errorf("state topic %s has no partition %d (it needs as many as %s)", k.StateTopic, p, k.Topic)
	case s.Err != nil:
		return 0, nil, fmt.Errorf("state topic %s/%d: %v", k.StateTopic, p, s.Err)
	case end.Err != nil:
		return 0, nil, fmt.Errorf("state topic %s/%d: %v", k.StateTopic, p, end.Err)
	}
	key := partitionKey(k.Topic, p)
	var last []byte
	for _, from := range []int64{max(s.Offset, end.Offset-64), s.Offset} {
		err := e.readRange(ctx, k.StateTopic, p, from, end.Offset, func(r *kgo.Record) {
			if bytes.Equal(r.Key, key) {
				last = r.Value
			}
		})
		if err != nil {
			return 0, nil, err
		}
		if last != nil || from == s.Offset {
			break
		}
	}
	if last == nil {
		return 0, nil, nil
	}
	if len(last) < 8 {
		return 0, nil, errors.New("short checkpoint record")
	}
	return int64(binary.BigEndian.Uint64(last)), last[8:], nil
}

// readRange calls fn for every committed data record of topic/p from
// offset from up to until (exclusive). Control records are read too, so
// the end is found when it is a transaction marker.
func (e *Engine) readRange(ctx context.Context, topic string, p int32, from, until int64, fn func(*kgo.Record)) error {
	if from >= until {
		return nil
	}
	cl, err := kgo.NewClient(append(e.base,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().At(from)}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxPartitionBytes(maxRecordBytes),
		kgo.FetchMaxBytes(maxRecordBytes),
	)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading %s/%d from %d to %d: %v", topic, p, from, until, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return fmt.Errorf("reading %s/%d: %v", topic, p, ferr)
		}
		done := false
		fs.EachRecord(func(r *kgo.Record) {
			if done || r.Offset >= until {
				done = true
				return
			}
			if !r.Attrs.IsControl() {
				fn(r)
			}
			if r.Offset >= until-1 {
				done = true
			}
		})
		if done {
			return nil
		}
	}
}
