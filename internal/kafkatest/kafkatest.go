// Package kafkatest holds what the Kafka tests of several packages (bus,
// nfr-engine, nfr-alert) read back from a cluster: every committed record
// of a topic, and the transactions left open.
package kafkatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReadTopic reads every committed record of topic, partition by
// partition, until three polls in a row bring nothing; it fails the test
// after 30 s.
func ReadTopic(t testing.TB, brokers []string, topic string) map[int32][]*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := map[int32][]*kgo.Record{}
	for idle := 0; idle < 3; {
		pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fs := cl.PollFetches(pctx)
		pcancel()
		if ctx.Err() != nil {
			t.Fatalf("reading %s took too long", topic)
		}
		if fs.NumRecords() == 0 {
			idle++
			continue
		}
		idle = 0
		fs.EachRecord(func(r *kgo.Record) { got[r.Partition] = append(got[r.Partition], r) })
	}
	return got
}

// OpenTransactions names the partitions of topics whose last stable
// offset is behind their end: a transaction on them was neither committed
// nor aborted.
func OpenTransactions(t testing.TB, brokers []string, topics ...string) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	stable, err := adm.ListCommittedOffsets(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	var open []string
	ends.Each(func(o kadm.ListedOffset) {
		if s, ok := stable.Lookup(o.Topic, o.Partition); !ok || s.Offset != o.Offset {
			open = append(open, fmt.Sprintf("%s/%d (stable %d, end %d)", o.Topic, o.Partition, s.Offset, o.Offset))
		}
	})
	return open
}
