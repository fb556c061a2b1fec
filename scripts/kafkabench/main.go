// Command kafkabench measures NFR over Kafka as a whole: it runs an
// in-process Kafka (franz-go's kfake, three brokers; no Kafka broker is
// installable here), two nfr-submit --kafka sensors and two nfr-engine
// --kafka members, all real binaries, and reports events/s from the first
// event read to the last one scored and committed (the group's committed
// offsets reaching the end of the events topic). scripts/bench/kafka.sh
// runs it.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/scripts/genthreats/traffic"
)

func main() {
	n := flag.Int("n", 200000, "events per sensor")
	bin := flag.String("bin", "bin", "directory of nfr-submit and nfr-engine")
	partitions := flag.Int("partitions", 12, "partitions of the events topic")
	flag.Parse()
	if err := run(*n, *bin, *partitions); err != nil {
		fmt.Fprintf(os.Stderr, "kafkabench: error: %v\n", err)
		os.Exit(1)
	}
}

func run(n int, bin string, partitions int) error {
	tmp, err := os.MkdirTemp("", "nfr-kafkabench.")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var files []string
	for s := 1; s <= 2; s++ {
		f := filepath.Join(tmp, fmt.Sprintf("sensor%d.ndjson", s))
		if err := write(f, s, n); err != nil {
			return err
		}
		files = append(files, f)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		return err
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")
	conf := filepath.Join(tmp, "config.yml")
	yml := fmt.Sprintf("submit:\n  fsync: never\n  batch_age: 200ms\n  kafka:\n    partitions: %d\n    replication: 3\nengine:\n  kafka:\n    partitions: %d\n    replication: 3\n", partitions, partitions)
	if err := os.WriteFile(conf, []byte(yml), 0o600); err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	for _, t := range []string{"nfr-events", "nfr-alerts"} {
		if _, err := adm.CreateTopic(ctx, int32(partitions), 3, nil, t); err != nil {
			return err
		}
	}
	if _, err := adm.CreateTopic(ctx, int32(partitions), 3, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, "nfr-engine-state"); err != nil {
		return err
	}

	var engines []*exec.Cmd
	for i := 1; i <= 2; i++ {
		e := exec.Command(filepath.Join(bin, "nfr-engine"), "-c", conf, "--kafka", brokers, "--id", fmt.Sprintf("bench%d", i))
		e.Stderr = os.Stderr
		if err := e.Start(); err != nil {
			return err
		}
		engines = append(engines, e)
	}
	defer func() {
		for _, e := range engines {
			e.Process.Signal(syscall.SIGTERM)
			e.Wait()
		}
	}()
	// Both members in the group before the clock starts.
	for {
		gs, err := adm.DescribeGroups(ctx, "nfr-engine")
		if err == nil && len(gs["nfr-engine"].Members) == 2 && gs["nfr-engine"].State == "Stable" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	start := time.Now()
	var sensors []*exec.Cmd
	for i, f := range files {
		s := exec.Command(filepath.Join(bin, "nfr-submit"), "-c", conf, "--kafka", brokers, "--spool", filepath.Join(tmp, fmt.Sprintf("spool%d", i)), f)
		s.Stderr = os.Stderr
		if err := s.Start(); err != nil {
			return err
		}
		sensors = append(sensors, s)
	}
	for _, s := range sensors {
		if err := s.Wait(); err != nil {
			return fmt.Errorf("nfr-submit: %v", err)
		}
	}
	sent := time.Since(start)
	ends, err := adm.ListEndOffsets(ctx, "nfr-events")
	if err != nil {
		return err
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	for {
		offs, err := adm.FetchOffsets(ctx, "nfr-engine")
		if err == nil {
			var done int64
			offs.Each(func(o kadm.OffsetResponse) { done += o.At })
			if done >= total {
				break
			}
		}
		if time.Since(start) > 10*time.Minute {
			return fmt.Errorf("the engines did not finish in 10 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	fmt.Printf("kafka: %d events from 2 nfr-submit through kfake (3 brokers, %d partitions) to 2 nfr-engine: %.2f s, %.0f events/s (sensors done after %.2f s)\n",
		total, partitions, took.Seconds(), float64(total)/took.Seconds(), sent.Seconds())
	return nil
}

// write makes n events of ordinary traffic from sensor s (sources 10.s.x.y).
func write(path string, s, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var b []byte
	i := 0
	traffic.New(int64(s)).Mixed(n, traffic.Start, func(e *event.Event) {
		e.TS = traffic.Start.Add(time.Duration(i) * 10 * time.Millisecond)
		a := e.SrcIP.As4()
		e.SrcIP = netip.AddrFrom4([4]byte{10, byte(s), a[2], a[3]})
		b = append(e.AppendJSON(b[:0]), '\n')
		w.Write(b)
		i++
	})
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
