package bus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/nfr-project/nfr/internal/kafkatest"
	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/score"
	"github.com/nfr-project/nfr/pkg/spool"
	"github.com/nfr-project/nfr/pkg/submit"
	"github.com/nfr-project/nfr/scripts/genthreats/traffic"
)

// testLog sends people's messages to the test log.
type testLog struct{ t testing.TB }

func (l testLog) Warnf(f string, a ...any) { l.t.Logf("warning: "+f, a...) }
func (l testLog) Infof(f string, a ...any) { l.t.Logf(f, a...) }

func kafkaConfig(brokers []string, partitions int) config.Kafka {
	c := config.Default().Engine.Kafka
	c.Brokers = brokers
	c.Partitions = partitions
	return c
}

// newCluster starts an in-process Kafka of n brokers (transactions are
// always on in kfake) on 127.0.0.1, on ports when given.
func newCluster(t testing.TB, n int, ports ...int) *kfake.Cluster {
	opts := []kfake.Opt{kfake.NumBrokers(n), kfake.GroupMinSessionTimeout(100 * time.Millisecond)}
	if len(ports) > 0 {
		opts = append(opts, kfake.Ports(ports...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// workload makes n events of sensor s (sources 10.s.x.y): the ordinary
// traffic of traffic.Mixed, 10 ms apart in event time, and beacons: every
// 20th source of the sensor opens a connection to one C2 address every 30
// s for the whole run. It returns the lines and the beaconing sources.
func workload(s, n int) ([][]byte, []netip.Addr) {
	start := traffic.Start
	var beacons []netip.Addr
	for h := 0; h < 250; h += 20 {
		beacons = append(beacons, netip.AddrFrom4([4]byte{10, byte(s), 0, byte(h)}))
	}
	c2 := netip.AddrFrom4([4]byte{203, 0, 113, byte(s)})
	lines := make([][]byte, 0, n+n/2000)
	i := 0
	next := start
	traffic.New(int64(s)).Mixed(n, start, func(e *event.Event) {
		e.TS = start.Add(time.Duration(i) * 10 * time.Millisecond)
		a := e.SrcIP.As4()
		e.SrcIP = netip.AddrFrom4([4]byte{10, byte(s), a[2], a[3]})
		lines = append(lines, e.AppendJSON(nil))
		i++
		if !e.TS.Before(next) {
			for j, b := range beacons {
				bev := event.Event{V: 1, Type: event.TypeIP, TS: e.TS.Add(time.Duration(j) * time.Millisecond), SrcIP: b,
					SrcPort: uint16(50000 + i%1000), DestIP: c2, DestPort: 8443, Proto: "tcp",
					BytesOut: 420, BytesIn: 1337, PktsOut: 5, PktsIn: 4, ConnState: "SF", Duration: 0.2}
				lines = append(lines, bev.AppendJSON(nil))
			}
			next = next.Add(30 * time.Second)
		}
	})
	return lines, beacons
}

// sensor runs nfr-submit's sender (spool and Kafka producer) over lines
// until they are all acknowledged.
func sensor(ctx context.Context, t testing.TB, k config.Kafka, dir string, lines [][]byte, timeout time.Duration) (*submit.Sender, error) {
	sp, err := spool.Open(spool.Options{Dir: dir, Fsync: config.FsyncNever, MaxEvents: 5000})
	if err != nil {
		return nil, err
	}
	defer sp.Close()
	p, err := NewProducer(k, "test-sensor", timeout)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	s := &submit.Sender{Client: p, Spool: sp, Log: testLog{t}, Connections: 1, BatchAge: 100 * time.Millisecond,
		RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond}
	r := &submit.Runner{Sender: s, Inputs: []submit.Input{{Name: "events", R: bytes.NewReader(bytes.Join(append(lines, nil), []byte("\n")))}},
		Warn: func(m string) { t.Logf("warning: %s", m) }}
	return s, r.Run(ctx)
}

func count(m map[int32][]*kgo.Record) int {
	n := 0
	for _, rs := range m {
		n += len(rs)
	}
	return n
}

func freePorts(t testing.TB, n int) []int {
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func TestSourceKey(t *testing.T) {
	for line, want := range map[string]string{
		`{"type":"dns","ts":"2026-01-01T00:00:00Z","srcIP":"10.1.2.3","query":"a.b"}`: "10.1.2.3",
		`{"type":"ip","srcIP":"2001:db8::1","destIP":"10.0.0.1"}`:                     "2001:db8::1",
		`{"type":"ip","destIP":"10.0.0.1"}`:                                           "",
		`{"type":"ip","srcIP":""}`:                                                    "",
		`{"type":"ip","srcIP":"10.0.0.1`:                                              "",
	} {
		if got := string(SourceKey([]byte(line))); got != want {
			t.Errorf("%s: got %q, want %q", line, got, want)
		}
	}
}

// TestSensorKeepsEventsWhileCutOff starts a sensor while no broker runs:
// its events wait in the spool, retried, and are all delivered, keyed by
// source and in order, once the cluster comes up.
func TestSensorKeepsEventsWhileCutOff(t *testing.T) {
	ports := freePorts(t, 3)
	var brokers []string
	for _, p := range ports {
		brokers = append(brokers, "127.0.0.1:"+strconv.Itoa(p))
	}
	k := kafkaConfig(brokers, 4)
	k.Replication = 3
	lines, _ := workload(1, 20000)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	type result struct {
		s   *submit.Sender
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := sensor(ctx, t, k, dir, lines, time.Second)
		done <- result{s, err}
	}()
	// Cut off: the events reach the spool and stay there.
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := spooled(t, dir)
		if n == len(lines) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events in the spool while Kafka was down", n, len(lines))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("the sensor finished while Kafka was down: %v", r.err)
	default:
	}
	newCluster(t, 3, ports...)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	st := r.s.Stats()
	if st.Accepted != int64(len(lines)) || st.Retries == 0 {
		t.Errorf("accepted %d of %d events after %d retries", st.Accepted, len(lines), st.Retries)
	}
	got := kafkatest.ReadTopic(t, k.Brokers, k.Topic)
	if count(got) != len(lines) {
		t.Fatalf("%d events in Kafka, want %d", count(got), len(lines))
	}
	// One source's events are in one partition, those of one type in the
	// order read (the spool batches each type apart).
	where := map[string]int32{}
	for p, rs := range got {
		for _, r := range rs {
			src := string(r.Key)
			if q, ok := where[src]; ok && q != p {
				t.Fatalf("source %s in partitions %d and %d", src, q, p)
			}
			where[src] = p
		}
	}
	typeOf := func(l []byte) string { return string(l[bytes.IndexByte(l, ':')+2 : bytes.IndexByte(l, ',')-1]) }
	want := map[string][]string{}
	for _, l := range lines {
		k := string(SourceKey(l)) + " " + typeOf(l)
		want[k] = append(want[k], string(l))
	}
	have := map[string][]string{}
	for _, rs := range got {
		for _, r := range rs {
			k := string(r.Key) + " " + typeOf(r.Value)
			have[k] = append(have[k], string(r.Value))
		}
	}
	for src, ls := range want {
		if strings.Join(ls, "\n") != strings.Join(have[src], "\n") {
			t.Errorf("source and type %s: events differ or are out of order", src)
		}
	}
}

// spooled counts the events in the spool's segments on disk.
func spooled(t testing.TB, dir string) int {
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".ready") && !strings.HasSuffix(e.Name(), ".open") {
			continue
		}
		b, err := os.ReadFile(dir + "/" + e.Name())
		if err != nil {
			continue
		}
		spool.Records(b, func([]byte) { n++ })
	}
	return n
}

// expected scores each events partition alone, in order, with a fresh
// engine, as one engine that never failed would.
func expected(t testing.TB, parts map[int32][]*kgo.Record) []*event.Event {
	var alerts []*event.Event
	for _, rs := range parts {
		eng, err := score.New(score.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		var ev event.Event
		for _, r := range rs {
			if decode(r, &ev) {
				eng.Process(&ev, func(a *event.Event) { alerts = append(alerts, a) })
			}
		}
	}
	return alerts
}

// engines runs members of the engine group, each until stopped or
// killed.
type engines struct {
	t       testing.TB
	k       config.Kafka
	mu      sync.Mutex
	members []*member
	wg      sync.WaitGroup
}

// member is one engine of the group and the levers the test pulls.
type member struct {
	e      *Engine
	nw     *network
	cancel func()
	dying  chan struct{} // closed: die in the next transaction
	// closed: stop (as on SIGTERM) in the next transaction; the events
	// committed then are sent on stoppedAt
	stopping  chan struct{}
	stoppedAt chan int64
}

// member returns the member started last under id.
func (es *engines) member(id string) *member {
	es.mu.Lock()
	defer es.mu.Unlock()
	for i := len(es.members) - 1; i >= 0; i-- {
		if es.members[i].e.ID == id {
			return es.members[i]
		}
	}
	es.t.Fatalf("no engine %s", id)
	return nil
}

// network is a member's connections to the brokers; cut severs them all
// and refuses new ones, as the death of its process or machine would: no
// request goes out any more, not a commit, an abort or a leave.
type network struct {
	mu    sync.Mutex
	dead  bool
	conns []net.Conn
}

func (n *network) dial(ctx context.Context, network, host string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dead {
		c.Close()
		return nil, errors.New("the member is dead")
	}
	n.conns = append(n.conns, c)
	return c, nil
}

// brokerDied closes the connections to addr, as the death of the broker
// process there would. kfake's RemoveNode closes the broker's listener but
// not its connections: a client keeps talking to the removed broker,
// which answers NOT_LEADER for ever, while the metadata names the node
// that replaced it, at the same address.
func (n *network) brokerDied(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	live := n.conns[:0]
	for _, c := range n.conns {
		if c.RemoteAddr().String() == addr {
			c.Close()
			continue
		}
		live = append(live, c)
	}
	n.conns = live
}

func (n *network) cut() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dead = true
	for _, c := range n.conns {
		c.Close()
	}
}

func (es *engines) start(id string) {
	nw := &network{}
	e := &Engine{Kafka: es.k, ID: id, Session: 1500 * time.Millisecond, MaxPoll: 5000,
		CheckpointEvery: 500 * time.Millisecond, CheckpointEvents: 20000,
		New:  func() (*score.Engine, error) { return score.New(score.DefaultConfig()) },
		Warn: func(m string) { es.t.Logf("engine %s: %s", id, m) },
		// A static member does not leave the group when its client
		// closes: it vanishes as a killed process does.
		Opts: []kgo.Opt{kgo.InstanceID(id), kgo.Dialer(nw.dial)}}
	if os.Getenv("NFR_KAFKA_DEBUG") != "" {
		lvl := kgo.LogLevelInfo
		if os.Getenv("NFR_KAFKA_DEBUG") == "debug" {
			lvl = kgo.LogLevelDebug
		}
		e.Opts = append(e.Opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, lvl, func() string { return id + " " })))
	}
	ctx, cancel := context.WithCancel(context.Background())
	dying := make(chan struct{})
	var once sync.Once
	// Killed, the member dies in a transaction whose records reached the
	// brokers: the transaction stays open, its offsets uncommitted, and
	// the member in the group until its session times out.
	stopping, stoppedAt := make(chan struct{}), make(chan int64, 1)
	e.midTxn = func(cl *kgo.Client) {
		select {
		case <-stopping:
			once.Do(func() {
				stoppedAt <- e.Stats().Events
				cancel()
			})
			return
		case <-dying:
		default:
			return
		}
		once.Do(func() {
			fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
			cl.Flush(fctx)
			fcancel()
			nw.cut()
			cancel()
			es.t.Logf("engine %s killed with a transaction open", id)
		})
	}
	es.mu.Lock()
	es.members = append(es.members, &member{e: e, nw: nw, cancel: cancel, dying: dying, stopping: stopping, stoppedAt: stoppedAt})
	es.mu.Unlock()
	es.wg.Add(1)
	go func() {
		defer es.wg.Done()
		if err := e.Run(ctx); err != nil {
			es.t.Errorf("engine %s: %v", id, err)
		}
	}()
}

// kill makes member id die abruptly in its next transaction.
func (es *engines) kill(id string) { close(es.member(id).dying) }

func (es *engines) total() (st EngineStats) {
	es.mu.Lock()
	defer es.mu.Unlock()
	for _, m := range es.members {
		s := m.e.Stats()
		st.Events += s.Events + s.Bad
		st.Alerts += s.Alerts
		st.Replayed += s.Replayed
		st.Restores += s.Restores
		st.Checkpoints += s.Checkpoints
		st.Aborted += s.Aborted
		st.Rewinds += s.Rewinds
	}
	return st
}

func (es *engines) stopAll() {
	es.mu.Lock()
	for _, m := range es.members {
		m.cancel()
	}
	es.mu.Unlock()
	es.wg.Wait()
}

// waitEvents waits until the engines committed n events.
func (es *engines) waitEvents(t testing.TB, n int64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for es.total().Events < n {
		if time.Now().After(deadline) {
			es.mu.Lock()
			for _, m := range es.members {
				t.Logf("engine %s: %+v", m.e.ID, m.e.Stats())
			}
			es.mu.Unlock()
			t.Fatalf("engines committed %d events of %d in %s", es.total().Events, n, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEnginesExactlyOnce sends the events of two sensors through three
// engines; one engine is killed mid-stream, abruptly, in a transaction
// whose records reached the brokers (its connections cut: no commit, no
// abort, no leaving the group; the brokers abort the transaction when it
// times out), and another added; a broker is killed and restarted. Every alert a single engine per partition
// raises appears exactly once, the beacons spanning the rebalance
// included. NFR_KAFKA_EVENTS sets the events per sensor (default 60000;
// 500000 is the 1 M-event run).
func TestEnginesExactlyOnce(t *testing.T) {
	perSensor := 60000
	if v := os.Getenv("NFR_KAFKA_EVENTS"); v != "" {
		perSensor, _ = strconv.Atoi(v)
	}
	c := newCluster(t, 3)
	k := kafkaConfig(c.ListenAddrs(), 6)
	k.Replication = 3
	runEngines(t, k, perSensor, c)
}

func runEngines(t *testing.T, k config.Kafka, perSensor int, c *kfake.Cluster) {
	lines1, beacons1 := workload(1, perSensor)
	lines2, beacons2 := workload(2, perSensor)
	total := int64(len(lines1) + len(lines2))
	es := &engines{t: t, k: k}
	defer es.stopAll()
	for _, id := range []string{"e1", "e2", "e3"} {
		es.start(id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	serr := make(chan error, 2)
	for i, lines := range [][][]byte{lines1, lines2} {
		dir := t.TempDir()
		go func() {
			_, err := sensor(ctx, t, k, dir, lines, 10*time.Second)
			if err != nil {
				err = fmt.Errorf("sensor %d: %v", i+1, err)
			}
			serr <- err
		}()
	}
	began := time.Now()
	es.waitEvents(t, total/3, 3*time.Minute)
	t.Logf("killing engine e2 and adding e4 at %d events", es.total().Events)
	es.kill("e2")
	es.start("e4")
	if c != nil {
		es.waitEvents(t, 2*total/3, 3*time.Minute)
		addrs := c.ListenAddrs()
		_, port, _ := net.SplitHostPort(addrs[1])
		pn, _ := strconv.Atoi(port)
		node := int32(1)
		t.Logf("killing broker %d (%s) at %d events", node, addrs[1], es.total().Events)
		if err := c.RemoveNode(node); err != nil {
			t.Fatal(err)
		}
		es.mu.Lock()
		for _, m := range es.members {
			m.nw.brokerDied(addrs[1])
		}
		es.mu.Unlock()
		time.Sleep(time.Second)
		if _, _, err := c.AddNode(node, pn); err != nil {
			t.Fatal(err)
		}
		t.Logf("broker %d restarted", node)
	}
	for range 2 {
		if err := <-serr; err != nil {
			t.Fatal(err)
		}
	}
	es.waitEvents(t, total, 5*time.Minute)
	elapsed := time.Since(began)
	st := es.total()
	t.Logf("%d events in %s (%.0f events/s), %d alerts, %d restores replaying %d events, %d checkpoints, %d aborted transactions, %d consumer resets skipped forward",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), st.Alerts, st.Restores, st.Replayed, st.Checkpoints, st.Aborted, st.Rewinds)
	time.Sleep(200 * time.Millisecond)
	if st := es.total(); st.Events != total {
		t.Errorf("engines committed %d events, want exactly %d", st.Events, total)
	}
	es.stopAll()

	events := kafkatest.ReadTopic(t, k.Brokers, k.Topic)
	if count(events) != int(total) {
		t.Fatalf("%d events in the topic, want %d", count(events), total)
	}
	want := expected(t, events)
	got := kafkatest.ReadTopic(t, k.Brokers, k.AlertsTopic)
	type key struct {
		id    string
		count int
	}
	seen := map[key]int{}
	firsts := map[string]int{}
	beaconing := map[netip.Addr]bool{}
	for _, rs := range got {
		for _, r := range rs {
			var a event.Event
			if err := event.Unmarshal(r.Value, &a); err != nil {
				t.Fatalf("alert %s: %v", r.Value, err)
			}
			seen[key{a.ID, a.Count}]++
			if a.Count == 1 {
				firsts[a.ID]++
			}
			if _, ok := a.Threats[score.ThreatBeacon]; ok {
				beaconing[a.SrcIP] = true
			}
		}
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("alert %s count %d delivered %d times", k.id, k.count, n)
		}
	}
	var missing []string
	wantFirsts := 0
	for _, a := range want {
		if a.Count != 1 {
			continue
		}
		wantFirsts++
		if firsts[a.ID] != 1 {
			missing = append(missing, fmt.Sprintf("%s %v from %s (%d times)", a.ID, a.Threats, a.SrcIP, firsts[a.ID]))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d of %d expected alerts not delivered exactly once: %s", len(missing), wantFirsts, strings.Join(missing[:min(len(missing), 10)], "; "))
	}
	if len(firsts) != wantFirsts {
		t.Errorf("%d incidents opened, want %d", len(firsts), wantFirsts)
	}
	wantBeacons := map[netip.Addr]bool{}
	for _, a := range want {
		if _, ok := a.Threats[score.ThreatBeacon]; ok {
			wantBeacons[a.SrcIP] = true
		}
	}
	planted := append(beacons1, beacons2...)
	found := 0
	for _, b := range planted {
		if wantBeacons[b] {
			found++
			if !beaconing[b] {
				t.Errorf("beacon from %s, spanning the rebalance, not found", b)
			}
		}
	}
	// Fewer than 60000 events per sensor span too little time for most
	// beacons to score.
	if perSensor >= 60000 && found < len(planted)/2 {
		t.Errorf("only %d of %d planted beacons found by one engine alone: the workload is too weak", found, len(planted))
	}
	t.Logf("%d incidents, each delivered once; %d alerts in all (updates included); %d of %d planted beacons found, as by one engine alone",
		wantFirsts, count(got), found, len(planted))
}

// TestRealCluster runs the engine test against the Kafka cluster named by
// $NFR_KAFKA_BROKERS (host:port,...), on topics of its own, killing and
// adding an engine (brokers are not killed). Without the variable it is
// skipped.
func TestRealCluster(t *testing.T) {
	brokers := os.Getenv("NFR_KAFKA_BROKERS")
	if brokers == "" {
		t.Skip("set NFR_KAFKA_BROKERS=host:port,... to run against a real Kafka cluster")
	}
	k := kafkaConfig(strings.Split(brokers, ","), 6)
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	k.Topic, k.AlertsTopic, k.StateTopic, k.Group = "nfr-test-events-"+suffix, "nfr-test-alerts-"+suffix, "nfr-test-state-"+suffix, "nfr-test-"+suffix
	perSensor := 60000
	if v := os.Getenv("NFR_KAFKA_EVENTS"); v != "" {
		perSensor, _ = strconv.Atoi(v)
	}
	runEngines(t, k, perSensor, nil)
}

func BenchmarkSourceKey(b *testing.B) {
	lines, _ := workload(1, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		SourceKey(lines[i%len(lines)])
	}
}

// BenchmarkProduce is the sensor's hot path: one spooled batch of 5000
// events produced and acknowledged by a three-broker kfake.
func BenchmarkProduce(b *testing.B) {
	c := newCluster(b, 3)
	k := kafkaConfig(c.ListenAddrs(), 12)
	p, err := NewProducer(k, "bench", 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	lines, _ := workload(1, 5000)
	body := bytes.Join(lines, []byte("\n"))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.SendEvents(context.Background(), "ip", "", body, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(lines))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestSensorSurvivesBrokerRestart kills one of three brokers while a
// sensor produces and restarts it: every event reaches the topic (at
// least once: a batch retried after the failure may repeat).
func TestSensorSurvivesBrokerRestart(t *testing.T) {
	c := newCluster(t, 3)
	k := kafkaConfig(c.ListenAddrs(), 6)
	k.Replication = 3
	lines, _ := workload(3, 30000)
	pr, pw := io.Pipe()
	go func() {
		// Slowly, so the broker dies mid-stream.
		for i, l := range lines {
			pw.Write(append(l, '\n'))
			if i%1000 == 999 {
				time.Sleep(20 * time.Millisecond)
			}
		}
		pw.Close()
	}()
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), Fsync: config.FsyncNever, MaxEvents: 500})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	p, err := NewProducer(k, "test-sensor", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s := &submit.Sender{Client: p, Spool: sp, Log: testLog{t}, Connections: 1, BatchAge: 50 * time.Millisecond,
		RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond}
	r := &submit.Runner{Sender: s, Inputs: []submit.Input{{Name: "events", R: pr}}}
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	for s.Stats().Accepted == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	addr := c.ListenAddrs()[1]
	_, port, _ := net.SplitHostPort(addr)
	pn, _ := strconv.Atoi(port)
	if err := c.RemoveNode(1); err != nil {
		t.Fatal(err)
	}
	t.Logf("broker 1 (%s) killed at %d events accepted", addr, s.Stats().Accepted)
	time.Sleep(500 * time.Millisecond)
	if _, _, err := c.AddNode(1, pn); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := kafkatest.ReadTopic(t, k.Brokers, k.Topic)
	have := map[string]bool{}
	for _, rs := range got {
		for _, r := range rs {
			have[string(r.Value)] = true
		}
	}
	lost := 0
	for _, l := range lines {
		if !have[string(l)] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d events lost", lost, len(lines))
	}
	t.Logf("%d events sent, %d records in the topic, %d retries", len(lines), count(got), s.Stats().Retries)
}

// BenchmarkEngine is the engine's hot path: records fetched, decoded,
// scored, and alerts, checkpoints and offsets committed in transactions,
// by one member over a three-broker kfake holding 100000 events.
func BenchmarkEngine(b *testing.B) {
	c := newCluster(b, 3)
	k := kafkaConfig(c.ListenAddrs(), 6)
	p, err := NewProducer(k, "bench", 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	lines, _ := workload(1, 100000)
	for i := 0; i < len(lines); i += 5000 {
		body := bytes.Join(lines[i:min(i+5000, len(lines))], []byte("\n"))
		if _, err := p.SendEvents(context.Background(), "ip", "", body, false); err != nil {
			b.Fatal(err)
		}
	}
	p.Close()
	// Joining the group takes seconds and is not the hot path: the clock
	// runs from the first committed transaction to the last.
	b.ReportAllocs()
	b.ResetTimer()
	var timed int64
	var took time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		k.Group = fmt.Sprintf("bench-%d", i)
		k.StateTopic = fmt.Sprintf("bench-state-%d", i)
		e := &Engine{Kafka: k, ID: "b", New: func() (*score.Engine, error) { return score.New(score.DefaultConfig()) }}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		for e.Stats().Events == 0 {
			time.Sleep(time.Millisecond)
		}
		first := e.Stats().Events
		began := time.Now()
		b.StartTimer()
		for e.Stats().Events < int64(len(lines)) {
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		took += time.Since(began)
		timed += int64(len(lines)) - first
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(timed)/took.Seconds(), "events/s")
}

// TestEngineStopsCleanly stops a member (as SIGTERM does) mid-stream,
// in a transaction with a batch in hand: it finishes and commits that
// transaction, leaves none open behind it, and a member started afterwards scores the rest, so every
// event is committed once and every alert raised once.
func TestEngineStopsCleanly(t *testing.T) {
	c := newCluster(t, 3)
	k := kafkaConfig(c.ListenAddrs(), 4)
	k.Replication = 3
	lines, _ := workload(4, 60000)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := sensor(ctx, t, k, t.TempDir(), lines, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	es := &engines{t: t, k: k}
	defer es.stopAll()
	es.start("a")
	es.waitEvents(t, int64(len(lines))/3, time.Minute)
	a := es.member("a")
	close(a.stopping)
	before := <-a.stoppedAt
	es.wg.Wait()
	first := es.total().Events
	if first <= before {
		t.Errorf("stopped with a batch in hand at %d events committed, it stopped at %d: the batch was not committed", before, first)
	}
	if open := kafkatest.OpenTransactions(t, k.Brokers, k.AlertsTopic, k.StateTopic); len(open) > 0 {
		t.Errorf("stopped at %d events, transactions left open: %s", first, strings.Join(open, ", "))
	}
	es.start("b")
	es.waitEvents(t, int64(len(lines)), time.Minute)
	time.Sleep(200 * time.Millisecond)
	if n := es.total().Events; n != int64(len(lines)) {
		t.Errorf("%d events committed, want %d", n, len(lines))
	}
	es.stopAll()
	want := expected(t, kafkatest.ReadTopic(t, k.Brokers, k.Topic))
	got := kafkatest.ReadTopic(t, k.Brokers, k.AlertsTopic)
	if count(got) != len(want) {
		t.Errorf("%d alerts, want %d as from one engine", count(got), len(want))
	}
	t.Logf("member a stopped at %d of %d events; b scored the rest; %d alerts as from one engine, no transaction open", first, len(lines), count(got))
}
