package bus

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestAlertReaderCommitsAfterAccept: alerts of aborted transactions are
// never handed over; a batch Accept refuses is not committed, so the next
// reader of the group gets it again; one accepted is committed, and the
// group's next reader starts after it.
func TestAlertReaderCommitsAfterAccept(t *testing.T) {
	c := newCluster(t, 3)
	k := kafkaConfig(c.ListenAddrs(), 3)
	k.Replication = 3
	k.Group = "nfr-alert"
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...), kgo.TransactionalID("engine"), kgo.DefaultProduceTopic(k.AlertsTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := ensureTopics(ctx, cl, &k, topicSpec{name: k.AlertsTopic}); err != nil {
		t.Fatal(err)
	}
	produce := func(from, to int, commit bool) {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := from; i < to; i++ {
			r := &kgo.Record{Key: fmt.Appendf(nil, "10.0.0.%d", i), Value: fmt.Appendf(nil, `{"type":"alert","reason":"%d"}`, i)}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	produce(0, 50, true)
	produce(50, 80, false)
	produce(80, 100, true)

	refused := errors.New("disk full")
	// read runs a reader until it has n alerts or Accept fails.
	read := func(n int, fail bool) (map[string]int, error) {
		got := map[string]int{}
		rctx, stop := context.WithCancel(ctx)
		defer stop()
		r := &AlertReader{Kafka: k, ID: "t", Session: time.Second, Warn: func(m string) { t.Log(m) }}
		r.Accept = func(lines [][]byte) error {
			if fail {
				return refused
			}
			for _, l := range lines {
				got[string(l)]++
			}
			if len(got) >= n {
				stop()
			}
			return nil
		}
		err := r.Run(rctx)
		if st := r.Stats(); !fail && st.Committed != int64(len(got)) {
			t.Errorf("%d alerts accepted, %d committed", len(got), st.Committed)
		}
		return got, err
	}
	if _, err := read(1, true); !errors.Is(err, refused) {
		t.Fatalf("Accept failed, Run returned %v", err)
	}
	got, err := read(70, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		l := fmt.Sprintf(`{"type":"alert","reason":"%d"}`, i)
		aborted := i >= 50 && i < 80
		if n := got[l]; (n != 1) != aborted {
			t.Errorf("alert %d delivered %d times (aborted %v)", i, n, aborted)
		}
	}
	produce(100, 110, true)
	got, err = read(10, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := 100; i < 110; i++ {
		delete(got, fmt.Sprintf(`{"type":"alert","reason":"%d"}`, i))
	}
	if len(got) > 0 {
		t.Errorf("after a restart, alerts committed before came again: %v", got)
	}
}
