package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/nfr-project/nfr/internal/kafkatest"
	"github.com/nfr-project/nfr/internal/rsyslogtest"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/spool"
)

// alertLine is alert i; reason "alert i", or "aborted i" for one produced
// in a transaction that is aborted.
func alertLine(i int, aborted bool) []byte {
	reason := "alert"
	if aborted {
		reason = "aborted"
	}
	return fmt.Appendf(nil, `{"type":"alert","v":1,"ts":"2026-11-02T09:01:55Z","srcIP":"10.0.%d.%d","destIP":"10.0.0.2","query":"x%d.example","eventType":"dns","severity":4,"threats":{"dga":{"title":"DGA","severity":4,"policy":false}},"reason":"%s %d"}`,
		i/250%250, i%250, i, reason, i)
}

// engineTxns produces alerts from..to-1 to topic as an engine does, in
// transactions of per alerts, every fourth one aborted (its alerts then
// carry "aborted"). It returns the alerts committed.
func engineTxns(t *testing.T, cl *kgo.Client, topic string, from, to, per int, pause time.Duration) []int {
	var committed []int
	ctx := context.Background()
	for i := from; i < to; i += per {
		abort := (i/per)%4 == 3
		if err := cl.BeginTransaction(); err != nil {
			t.Error(err)
			return committed
		}
		var rs []*kgo.Record
		for j := i; j < min(to, i+per); j++ {
			rs = append(rs, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "10.0.%d.%d", j/250%250, j%250), Value: alertLine(j, abort)})
			if !abort {
				committed = append(committed, j)
			}
		}
		if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Error(err)
			return committed
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(!abort)); err != nil {
			t.Error(err)
			return committed
		}
		time.Sleep(pause)
	}
	return committed
}

// queued returns the reasons of the alerts in nfr-alert's queues on disk.
func queued(t *testing.T, dir string) map[string]bool {
	got := map[string]bool{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".ready") || strings.HasSuffix(path, ".open")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		spool.Records(b, func(line []byte) {
			var a event.Event
			if event.Unmarshal(line, &a) == nil {
				got[a.Reason] = true
			}
		})
		return nil
	})
	return got
}

// TestKafkaKilledAndRestarted: an engine writes alerts to the alerts topic
// in transactions, some aborted, while nfr-alert --kafka delivers them to
// a real rsyslog over RELP. nfr-alert is killed (SIGKILL) mid-stream:
// every alert below the group's committed offsets is then delivered or in
// its queue on disk (the offsets never run ahead of what it holds). Run
// again, it delivers every committed alert at least once and no aborted
// one, and after SIGTERM its offsets are at the end of the topic.
func TestKafkaKilledAndRestarted(t *testing.T) {
	bin := testenv.Bin(t, "nfr-alert")
	rs := rsyslogtest.Start(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const topic, group, parts = "nfr-alerts", "nfr-alert", 4
	engine, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.TransactionalID("test-engine"),
		kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	adm := kadm.NewClient(engine)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, parts, 3, nil, topic); err != nil {
		t.Fatal(err)
	}

	const first, total = 3000, 9000
	want := engineTxns(t, engine, topic, 0, first, 100, 0)
	dir := t.TempDir()
	args := []string{"-c", "/dev/null", "-q", filepath.Join(dir, "q"), "--no-pass", "--wait", "30s", "--stats",
		"-o", fmt.Sprintf("syslog+relp://127.0.0.1:%d", rs.RELP), "--kafka", strings.Join(c.ListenAddrs(), ",")}
	start := func() (*exec.Cmd, *testenv.SyncBuffer) {
		cmd := exec.Command(bin, args...)
		var stderr testenv.SyncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &stderr
	}
	committedOffsets := func() map[int32]int64 {
		offs, err := adm.FetchOffsets(ctx, group)
		if errors.Is(err, kerr.GroupIDNotFound) {
			return nil // not joined yet
		}
		if err != nil {
			t.Fatal(err)
		}
		m := map[int32]int64{}
		offs.Each(func(o kadm.OffsetResponse) { m[o.Partition] = o.At })
		return m
	}

	// The engine goes on producing while nfr-alert reads.
	more := make(chan []int, 1)
	var producing atomic.Bool
	producing.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		more <- engineTxns(t, engine, topic, first, total, 50, 10*time.Millisecond)
		producing.Store(false)
	}()
	// Cleanups run after the deferred Close of the engine's client, which
	// ends engineTxns: its errors then still land inside the test.
	t.Cleanup(func() { <-done })
	cmd, stderr := start()
	defer cmd.Process.Kill()
	for {
		n := int64(0)
		for _, o := range committedOffsets() {
			n += o
		}
		if n >= first/2 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("nfr-alert committed %d offsets in time:\n%s", n, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !producing.Load() {
		t.Log("the engine had finished when nfr-alert was killed")
	}

	// What the group committed is held: delivered, or queued on disk.
	offs := committedOffsets()
	held := queued(t, filepath.Join(dir, "q"))
	for _, m := range rs.Lines() {
		held[m.Tree.Reason] = true
	}
	below := 0
	for p, recs := range kafkatest.ReadTopic(t, c.ListenAddrs(), topic) {
		for _, r := range recs {
			if r.Offset >= offs[p] {
				continue
			}
			below++
			var a event.Event
			if err := event.Unmarshal(r.Value, &a); err != nil {
				t.Fatal(err)
			}
			if !held[a.Reason] {
				t.Errorf("%s at %s/%d offset %d committed but neither delivered nor queued", a.Reason, topic, p, r.Offset)
			}
		}
	}
	delivered1 := len(rs.Lines())
	t.Logf("killed with %d alerts committed, %d delivered, %d queued on disk", below, delivered1, len(queued(t, filepath.Join(dir, "q"))))

	cmd, stderr = start()
	defer cmd.Process.Kill()
	want = append(want, <-more...)
	got := rs.WaitFor(len(want), 60*time.Second)
	// Wait for the offsets of the last batch too.
	last := map[int32]int64{}
	for p, recs := range kafkatest.ReadTopic(t, c.ListenAddrs(), topic) {
		last[p] = recs[len(recs)-1].Offset
	}
	for atEnd := false; !atEnd; {
		atEnd = true
		offs := committedOffsets()
		for p, o := range last {
			atEnd = atEnd && offs[p] > o
		}
		if ctx.Err() != nil {
			t.Fatalf("offsets %v, last records %v:\n%s", offs, last, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := testenv.WaitExit(t, cmd, 30*time.Second, stderr); err != nil {
		t.Fatalf("nfr-alert --kafka after SIGTERM: %v\n%s", err, stderr.String())
	}
	got = rs.Lines()
	seen := map[string]int{}
	for _, m := range got {
		seen[m.Tree.Reason]++
		if strings.HasPrefix(m.Tree.Reason, "aborted") {
			t.Errorf("%s delivered: it was in an aborted transaction", m.Tree.Reason)
		}
	}
	missing, twice := 0, 0
	for _, i := range want {
		switch n := seen[fmt.Sprintf("alert %d", i)]; {
		case n == 0:
			if missing++; missing <= 5 {
				t.Errorf("alert %d not delivered", i)
			}
		case n > 1:
			twice++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d committed alerts not delivered:\n%s", missing, len(want), stderr.String())
	}
	if !strings.Contains(stderr.String(), "alerts read from nfr-alerts") {
		t.Errorf("no counters at the end:\n%s", stderr.String())
	}
	t.Logf("%d committed alerts (of %d produced), each delivered at least once, %d twice (redelivered after the kill), %d deliveries before the kill",
		len(want), total, twice, delivered1)
}
