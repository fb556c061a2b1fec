package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/nfr-project/nfr/internal/kafkatest"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

// kafkaRig is an in-process Kafka (kfake, three brokers) and a config.yml
// for nfr-submit and nfr-engine on it, topics of four partitions.
type kafkaRig struct {
	c             *kfake.Cluster
	brokers, conf string
	dir           string
	adm           *kadm.Client
}

func newKafkaRig(t *testing.T) *kafkaRig {
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	r := &kafkaRig{c: c, brokers: strings.Join(c.ListenAddrs(), ","), dir: t.TempDir()}
	r.conf = filepath.Join(r.dir, "config.yml")
	yml := "submit:\n  spool: " + filepath.Join(r.dir, "spool") + "\n  batch_age: 50ms\n  kafka:\n    partitions: 4\n    replication: 3\n" +
		"engine:\n  kafka:\n    partitions: 4\n    replication: 3\n"
	if err := os.WriteFile(r.conf, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	r.adm = kadm.NewClient(cl)
	return r
}

var beacon = netip.MustParseAddr("10.9.0.1")

// submit sends rounds from..to-1 of the workload through nfr-submit
// --kafka: in round i (at 30 s steps of event time), five lookups from
// 10.9.1.0-4 and a connection of the beacon 10.9.0.1 to its C2. It
// returns the events.
func (r *kafkaRig) submit(t *testing.T, from, to int) []byte {
	start := time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)
	var in bytes.Buffer
	for i := from; i < to; i++ {
		ts := start.Add(time.Duration(i) * 30 * time.Second)
		for j := range 5 {
			d := event.Event{V: 1, Type: event.TypeDNS, TS: ts.Add(time.Duration(j) * time.Second),
				SrcIP: netip.AddrFrom4([4]byte{10, 9, 1, byte(j)}), DestIP: netip.MustParseAddr("10.0.0.2"), DestPort: 53, Proto: "udp",
				Query: fmt.Sprintf("www.site%d.example.com", i*5+j), QType: "A", RCode: "NOERROR"}
			in.Write(append(d.AppendJSON(nil), '\n'))
		}
		b := event.Event{V: 1, Type: event.TypeIP, TS: ts, SrcIP: beacon, SrcPort: uint16(50000 + i),
			DestIP: netip.MustParseAddr("203.0.113.9"), DestPort: 8443, Proto: "tcp",
			BytesOut: 420, BytesIn: 1337, PktsOut: 5, PktsIn: 4, ConnState: "SF", Duration: 0.2}
		in.Write(append(b.AppendJSON(nil), '\n'))
	}
	events := filepath.Join(r.dir, fmt.Sprintf("events-%d.ndjson", from))
	if err := os.WriteFile(events, in.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testenv.Bin(t, "nfr-submit"), "-c", r.conf, "--kafka", r.brokers, "-v", events).CombinedOutput()
	if err != nil {
		t.Fatalf("nfr-submit --kafka: %v\n%s", err, out)
	}
	return in.Bytes()
}

// engine starts nfr-engine --kafka as member id.
func (r *kafkaRig) engine(t *testing.T, id string) (*exec.Cmd, *testenv.SyncBuffer) {
	var stderr testenv.SyncBuffer
	e := exec.Command(testenv.Bin(t, "nfr-engine"), "-c", r.conf, "--kafka", r.brokers, "--id", id)
	e.Stderr = &stderr
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Process.Kill(); e.Wait() })
	return e, &stderr
}

// waitScored waits until the group's offsets reach the end of the events
// topic (an empty partition counts as done).
func (r *kafkaRig) waitScored(t *testing.T, ctx context.Context, stderr *testenv.SyncBuffer) {
	ends, err := r.adm.ListEndOffsets(ctx, "nfr-events")
	if err != nil {
		t.Fatal(err)
	}
	for atEnd := false; !atEnd; time.Sleep(20 * time.Millisecond) {
		offs, err := r.adm.FetchOffsets(ctx, "nfr-engine")
		if ctx.Err() != nil {
			t.Fatalf("the group's offsets %v did not reach the ends of nfr-events %v; engine said:\n%s", offs, ends, stderr.String())
		}
		if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
			t.Fatal(err)
		}
		atEnd = true
		ends.Each(func(o kadm.ListedOffset) {
			c, ok := offs.Lookup(o.Topic, o.Partition)
			atEnd = atEnd && (o.Offset == 0 || ok && c.At >= o.Offset)
		})
	}
}

// alerts reads the committed alerts until one of the beacon is there; the
// test fails at once if ctx ends first, and for every alert from another
// source.
func (r *kafkaRig) alerts(t *testing.T, ctx context.Context, stderr *testenv.SyncBuffer) []event.Event {
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.c.ListenAddrs()...), kgo.ConsumeTopics("nfr-alerts"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var alerts []event.Event
	for found := false; !found && ctx.Err() == nil; {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			var a event.Event
			if err := event.Unmarshal(r.Value, &a); err != nil {
				t.Errorf("alert %s: %v", r.Value, err)
				return
			}
			if string(r.Key) != a.SrcIP.String() {
				t.Errorf("alert keyed %q, from %s", r.Key, a.SrcIP)
			}
			if a.SrcIP != beacon {
				t.Errorf("unexpected alert from %s: %s", a.SrcIP, a.Reason)
			}
			alerts = append(alerts, a)
			if _, ok := a.Threats["beacon"]; ok && a.SrcIP == beacon {
				found = true
			}
		})
	}
	if ctx.Err() != nil {
		t.Fatalf("no beacon alert in time; engine said:\n%s", stderr.String())
	}
	return alerts
}

// stop stops the engine as systemd does (SIGTERM) once every partition's
// events are scored: the alert may come before that.
func (r *kafkaRig) stop(t *testing.T, ctx context.Context, e *exec.Cmd, stderr *testenv.SyncBuffer) {
	r.waitScored(t, ctx, stderr)
	e.Process.Signal(syscall.SIGTERM)
	if err := e.Wait(); err != nil {
		t.Errorf("nfr-engine --kafka after SIGTERM: %v\n%s", err, stderr.String())
	}
}

// TestKafkaPipeline runs the real binaries against an in-process Kafka
// (kfake, three brokers): nfr-submit --kafka sends a beacon and ordinary
// lookups, nfr-engine --kafka scores them, and the beacon's alert appears
// in the alerts topic once. Stopped by SIGTERM, the engine leaves no
// transaction open.
func TestKafkaPipeline(t *testing.T) {
	r := newKafkaRig(t)
	e, eerr := r.engine(t, "test")
	r.submit(t, 0, 30)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r.alerts(t, ctx, eerr)
	r.stop(t, ctx, e, eerr)
	// Stopped, it left no transaction open.
	if open := kafkatest.OpenTransactions(t, r.c.ListenAddrs(), "nfr-alerts", "nfr-engine-state"); len(open) > 0 {
		t.Errorf("transactions left open: %s", strings.Join(open, ", "))
	}
	if !strings.Contains(eerr.String(), fmt.Sprintf("%d events scored", 30*6)) {
		t.Errorf("nfr-engine did not report the 180 events:\n%s", eerr.String())
	}
}

// TestKafkaEngineKilled: nfr-engine --kafka scores eight connections of a
// beacon (too few to alert), is killed (SIGKILL: it neither commits nor
// leaves the group) and started again under its --id, as systemd would;
// eight more connections come. The restarted member restores the
// partition's state from the state topic, so the beacon, which neither
// half shows alone, is found, once.
func TestKafkaEngineKilled(t *testing.T) {
	r := newKafkaRig(t)
	e, eerr := r.engine(t, "a")
	first := r.submit(t, 0, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r.waitScored(t, ctx, eerr)
	e.Process.Kill()
	e.Wait()
	e, eerr = r.engine(t, "a")
	second := r.submit(t, 8, 16)
	// nfr-score, which has no Kafka, sees the beacon in both halves only.
	for _, tc := range []struct {
		in   []byte
		want bool
	}{{first, false}, {second, false}, {append(first[:len(first):len(first)], second...), true}} {
		res := testenv.RunBin(t, "nfr-score", tc.in, "-c", r.conf)
		if got := strings.Contains(res.Stdout, `"beacon"`); got != tc.want {
			t.Fatalf("nfr-score of %d events: beacon %v, want %v: the workload does not test the restore\n%s%s", bytes.Count(tc.in, []byte("\n")), got, tc.want, res.Stdout, res.Stderr)
		}
	}
	alerts := r.alerts(t, ctx, eerr)
	r.stop(t, ctx, e, eerr)
	firsts := 0
	for _, a := range alerts {
		if a.Count <= 1 {
			firsts++
		}
	}
	if firsts != 1 {
		t.Errorf("%d beacon incidents opened, want 1", firsts)
	}
	if !strings.Contains(eerr.String(), "partitions restored") || strings.Contains(eerr.String(), " 0 partitions restored") {
		t.Errorf("the restarted member restored no partition:\n%s", eerr.String())
	}
	t.Logf("restarted member: %s", strings.TrimSpace(eerr.String()))
}

func TestKafkaUsage(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		bin  string
		args []string
		want string
	}{
		{"nfr-engine", []string{"--kafka", "127.0.0.1:1", "keys", "list"}, "--kafka takes no command"},
		{"nfr-engine", []string{"--id", "a"}, "--id needs Kafka"},
		{"nfr-submit", []string{"--kafka", "127.0.0.1:1", "--alerts-only"}, "--alerts-only polls the API"},
	} {
		_, stderr, code := testenv.Run(t, testenv.Bin(t, tc.bin), nil, []string{"NFR_CONFIG=" + conf}, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s %v: exit %d, %q; want 2 and %q", tc.bin, tc.args, code, stderr, tc.want)
		}
	}
}
