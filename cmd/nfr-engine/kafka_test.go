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

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

// TestKafkaPipeline runs the real binaries against an in-process Kafka
// (kfake, three brokers): nfr-submit --kafka sends a beacon and ordinary
// lookups, nfr-engine --kafka scores them, and the beacon's alert appears
// in the alerts topic once.
func TestKafkaPipeline(t *testing.T) {
	engine := testenv.Bin(t, "nfr-engine")
	submit := testenv.Bin(t, "nfr-submit")
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.yml")
	yml := "submit:\n  spool: " + filepath.Join(dir, "spool") + "\n  batch_age: 50ms\n  kafka:\n    partitions: 4\n    replication: 3\n" +
		"engine:\n  kafka:\n    partitions: 4\n    replication: 3\n"
	if err := os.WriteFile(conf, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}

	// A beacon every 30 s for 15 minutes from 10.9.0.1, and lookups.
	start := time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)
	var in bytes.Buffer
	beacon := netip.MustParseAddr("10.9.0.1")
	for i := range 30 {
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
	events := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(events, in.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	var eerr bytes.Buffer
	e := exec.Command(engine, "-c", conf, "--kafka", brokers, "--id", "test")
	e.Stderr = &eerr
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	defer e.Process.Kill()
	out, err := exec.Command(submit, "-c", conf, "--kafka", brokers, "-v", events).CombinedOutput()
	if err != nil {
		t.Fatalf("nfr-submit --kafka: %v\n%s", err, out)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("nfr-alerts"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var alerts []event.Event
	for found := false; !found; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("no beacon alert in 60 s; engine said:\n%s", eerr.String())
		}
		fs.EachRecord(func(r *kgo.Record) {
			var a event.Event
			if err := event.Unmarshal(r.Value, &a); err != nil {
				t.Errorf("alert %s: %v", r.Value, err)
				return
			}
			if string(r.Key) != a.SrcIP.String() {
				t.Errorf("alert keyed %q, from %s", r.Key, a.SrcIP)
			}
			alerts = append(alerts, a)
			if _, ok := a.Threats["beacon"]; ok && a.SrcIP == beacon {
				found = true
			}
		})
	}
	// The alert may come before every partition's events are scored:
	// wait for the group's offsets to reach the end of the events topic.
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, "nfr-events")
	if err != nil {
		t.Fatal(err)
	}
	for atEnd := false; !atEnd; time.Sleep(20 * time.Millisecond) {
		offs, err := adm.FetchOffsets(ctx, "nfr-engine")
		if ctx.Err() != nil {
			t.Fatalf("the group's offsets %v did not reach the ends of nfr-events %v; engine said:\n%s", offs, ends, eerr.String())
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
	e.Process.Signal(syscall.SIGTERM)
	if err := e.Wait(); err != nil {
		t.Errorf("nfr-engine --kafka after SIGTERM: %v\n%s", err, eerr.String())
	}
	// Stopped, it left no transaction open.
	hw, err := adm.ListEndOffsets(ctx, "nfr-alerts", "nfr-engine-state")
	if err != nil {
		t.Fatal(err)
	}
	stable, err := adm.ListCommittedOffsets(ctx, "nfr-alerts", "nfr-engine-state")
	if err != nil {
		t.Fatal(err)
	}
	hw.Each(func(o kadm.ListedOffset) {
		if s, _ := stable.Lookup(o.Topic, o.Partition); s.Offset != o.Offset {
			t.Errorf("%s/%d: a transaction left open (stable offset %d, end %d)", o.Topic, o.Partition, s.Offset, o.Offset)
		}
	})
	if !strings.Contains(eerr.String(), fmt.Sprintf("%d events scored", 30*6)) {
		t.Errorf("nfr-engine did not report the 180 events:\n%s", eerr.String())
	}
	for _, a := range alerts {
		if a.SrcIP != beacon {
			t.Errorf("unexpected alert from %s: %s", a.SrcIP, a.Reason)
		}
	}
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
