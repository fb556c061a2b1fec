// Command nfr-capture turns capture files and live interfaces into dns, ip,
// http, tls and ssh events.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nfr-project/nfr/pkg/afpacket"
	"github.com/nfr-project/nfr/pkg/capture"
	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/privdrop"
)

const prog = "nfr-capture"

type options struct {
	cli.Common
	Config        string        `short:"c" long:"config" value-name:"FILE" description:"config.yml: its network section gives the defaults of these options, its analysis section the bounds (default $NFR_CONFIG, else /etc/nfr/config.yml if it exists)"`
	Read          []string      `short:"r" long:"read" value-name:"FILE" description:"read a pcap or pcapng file (gzip too; - is stdin); repeat for several, in order"`
	Interfaces    []string      `short:"i" long:"interface" value-name:"IFACE" description:"capture live on IFACE (any: every interface); repeat for several (with --afpacket)"`
	Filter        string        `long:"filter" value-name:"EXPR" description:"BPF filter in tcpdump syntax (live capture)"`
	SnapLen       int           `short:"s" long:"snaplen" value-name:"BYTES" description:"bytes captured per packet (live capture; default network.snaplen, 262144)"`
	NoPromisc     bool          `short:"p" long:"no-promiscuous" description:"do not put the interface into promiscuous mode"`
	AFPacket      bool          `long:"afpacket" description:"capture through AF_PACKET TPACKET_V3 rings instead of libpcap"`
	Workers       int           `long:"workers" value-name:"N" description:"AF_PACKET decoding workers per capture (fanout group; default network.workers, 1)"`
	Fanout        string        `long:"fanout" value-name:"MODE" default:"hash" description:"AF_PACKET fanout: hash, lb, cpu or qm"`
	BufferKiB     int           `short:"B" long:"buffer-size" value-name:"KIB" default:"32768" description:"AF_PACKET ring size per worker and interface, in KiB"`
	User          string        `short:"Z" long:"relinquish-privileges" value-name:"USER" description:"once the interfaces are open, change to USER, as tcpdump -Z"`
	DNSPorts      []string      `long:"dns-port" value-name:"PORT[,PORT]" description:"also decode DNS on PORT (53 always)"`
	DNSTimeout    time.Duration `long:"dns-timeout" value-name:"DURATION" description:"emit a query without response after DURATION (default network.dns_timeout, 5s)"`
	Types         string        `short:"t" long:"types" value-name:"LIST" description:"event types to emit, of dns,ip,http,tls,ssh (default: all)"`
	Stats         bool          `long:"stats" description:"print counters to stderr at exit (SIGUSR1 prints them any time)"`
	StatsInterval time.Duration `long:"stats-interval" value-name:"DURATION" description:"also print counters every DURATION"`
	LineBuffered  bool          `long:"line-buffered" description:"flush every event line"`
}

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	ui := cli.New(prog, os.Stderr)
	var o options
	rest, done, code := ui.Parse(&o, "[OPTIONS] [IFACE] | -r FILE...", args, os.Stdout)
	if done {
		return code
	}
	cfg, err := config.Find(o.Config)
	if err != nil {
		ui.Errorf("%v", err)
		return cli.ExitUsage
	}
	applyNetwork(&o, &cfg.Network)
	files, ifaces := append([]string(nil), o.Read...), o.Interfaces
	switch {
	case len(files) > 0:
		files = append(files, rest...)
	case len(ifaces) == 0 && len(rest) == 1 && isFile(rest[0]):
		files = rest // nfr-capture trace.pcap: a file, not an interface
	case len(ifaces) == 0 && len(rest) == 1:
		ifaces = rest
	case len(rest) > 0:
		return ui.Usagef("unexpected argument %q", rest[len(rest)-1])
	case len(ifaces) == 0 && cfg.Network.Interface != "":
		ifaces = []string{cfg.Network.Interface}
	}
	live := len(ifaces) > 0
	switch {
	case live && len(files) > 0:
		return ui.Usagef("give an interface or -r FILE, not both")
	case !live && len(files) == 0:
		ui.Errorf("nothing to read: no interface given, none in %s (network.interface)", cfg.Path)
		ui.Hintf("run: %s eth0, or %s -r FILE.pcap", prog, prog)
		return cli.ExitUsage
	case len(ifaces) > 1 && !o.AFPacket:
		return ui.Usagef("several interfaces need --afpacket")
	case o.Workers < 1 || (o.Workers > 1 && !o.AFPacket):
		return ui.Usagef("--workers needs --afpacket and a number from 1")
	}
	fanout, err := afpacket.ParseFanout(o.Fanout)
	if err != nil {
		return ui.Usagef("--fanout: %v", err)
	}
	ports, err := capture.ParsePorts(o.DNSPorts)
	if err != nil {
		return ui.Usagef("--dns-port: %v", err)
	}
	if o.DNSTimeout <= 0 {
		return ui.Usagef("--dns-timeout must be positive")
	}
	types := capture.DefaultTypes()
	if o.Types != "" {
		types = strings.Split(o.Types, ",")
	}

	// The heap is bounded by the analysers' limits. Live, the collector
	// runs at its default pace (GOGC): a slower one made little difference
	// to the time but grew the heap with the length of the capture (93 MB
	// after 3 M DNS packets at GOGC=400, 53 MB at 100). Reading files, where
	// time is what counts, it runs at half that pace: about 5% less CPU on
	// scripts/bench/short.sh's capture for a peak of 110-130 MB instead of
	// 90 MB (1 and 3 M packets). The limit keeps the process under a fixed
	// ceiling when flow tables fill up, whatever the pace.
	debug.SetMemoryLimit(200 << 20)
	if len(files) > 0 && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	lineBuffered := o.LineBuffered || cli.IsTerminal(os.Stdout)
	w := event.NewWriter(os.Stdout, lineBuffered)
	workers := make([]*worker, o.Workers)
	for i := range workers {
		if workers[i], err = newWorker(w, lineBuffered, live, types, statsLabel(i, len(workers)), capture.Options{
			DNSPorts: ports, DNSTimeout: o.DNSTimeout, Analysis: cfg.Analysis}); err != nil {
			return ui.Usagef("--types: %v", err)
		}
	}
	runners := make([]*capture.Runner, len(workers))
	for i, wk := range workers {
		runners[i] = wk.r
	}

	// SIGINT and SIGTERM stop the source, so pending transactions are
	// flushed and the exit status is 0; SIGUSR1 asks for the counters.
	// A second one exits at once (cli.Interrupts); SIGHUP is ignored, so the
	// wrapper can pass it to every stage.
	g := &capture.Guard{}
	interrupts := &cli.Interrupts{First: g.Stop}
	interrupts.Watch(ui)
	defer interrupts.Stop()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	go func() {
		for range sigs {
			requestStats(runners)
		}
	}()
	if o.StatsInterval > 0 {
		t := time.NewTicker(o.StatsInterval)
		defer t.Stop()
		go func() {
			for range t.C {
				requestStats(runners)
			}
		}()
	}
	dropPrivileges := func() error {
		if o.User == "" {
			return nil
		}
		if _, err := privdrop.Drop(o.User); errors.Is(err, privdrop.ErrNotRoot) {
			ui.Warnf("-Z %s: not running as root, nothing to drop", o.User)
		} else if err != nil {
			return err
		}
		return nil
	}

	status := cli.ExitOK
	switch {
	case o.AFPacket:
		w.FlushEvery(time.Second)
		err = capture.RunRing(afpacket.Config{Interfaces: ifaces, Fanout: fanout, RingSize: o.BufferKiB << 10,
			Snaplen: o.SnapLen, Promisc: !o.NoPromisc, Filter: o.Filter, ReadTimeout: 100 * time.Millisecond},
			runners, g, dropPrivileges)
	case live:
		w.FlushEvery(time.Second)
		runners[0].OnOpen = dropPrivileges
		err = runners[0].RunLive(capture.LiveConfig{Interface: ifaces[0], Filter: o.Filter, SnapLen: o.SnapLen, NoPromisc: o.NoPromisc}, g)
	default:
		if err = dropPrivileges(); err == nil {
			err = runners[0].RunFiles(files, os.Stdin, g)
		}
	}
	if err != nil {
		ui.Errorf("%v", err)
		if live {
			liveHint(ui, err)
		}
		status = cli.ExitFailure
	}
	for _, wk := range workers {
		if cerr := wk.finish(); cerr != nil && status == cli.ExitOK {
			ui.Errorf("writing events: %v", cerr)
			status = cli.ExitFailure
		}
	}
	if cerr := w.Close(); cerr != nil && status == cli.ExitOK {
		ui.Errorf("writing events: %v", cerr)
		status = cli.ExitFailure
	}
	if o.Stats {
		for _, wk := range workers {
			wk.writeStats()
		}
	}
	for _, r := range runners {
		if err := r.UnsupportedLinks(); err != nil {
			ui.Errorf("%v", err)
			status = cli.ExitFailure
		}
	}
	return status
}

// worker is one decoding pipeline: a runner with its own analysers and an
// encoder feeding the shared writer.
type worker struct {
	r     *capture.Runner
	an    *capture.Analysers
	em    *capture.Emitter
	label string // prefix of its counter lines
}

func newWorker(w *event.Writer, lineBuffered, live bool, types []string, label string, opt capture.Options) (*worker, error) {
	em := capture.NewEmitter(w, lineBuffered)
	opt.Emit = em.Emit
	opt.DeferCommunityID = true // the emitter's goroutine computes it, off the packet path
	if !live {
		opt.EmitBatch = em.EmitBatch // files: the flow table on a goroutine of its own
	}
	an, err := capture.NewAnalysers(types, opt)
	if err != nil {
		em.Close()
		return nil, err
	}
	r := &capture.Runner{Decoder: decode.NewDecoder(an.Handlers...), DNS: an.DNS, L7: an.L7, Live: live}
	wk := &worker{r: r, an: an, em: em, label: label}
	r.OnStats = func() { an.Sync(); em.Flush(); wk.writeStats() }
	if live {
		r.OnTick = em.Pass
	}
	return wk, nil
}

// statsLabel prefixes the counter lines of worker i of n, so the blocks of
// AF_PACKET workers can be told apart.
func statsLabel(i, n int) string {
	if n == 1 {
		return prog
	}
	return fmt.Sprintf("%s: worker %d", prog, i+1)
}

// writeStats writes the worker's counter block in one write, so workers
// asked at once (SIGUSR1) do not interleave their lines.
func (wk *worker) writeStats() {
	var b bytes.Buffer
	wk.r.WriteStats(&b, wk.label)
	os.Stderr.Write(b.Bytes())
}

func (wk *worker) finish() error {
	wk.r.Finish()
	wk.an.Close()
	return wk.em.Close()
}

func requestStats(rs []*capture.Runner) {
	for _, r := range rs {
		r.RequestStats()
	}
}

// applyNetwork fills what the command line left unset from config.yml's
// network section: nfr-capture owns its configuration, and the nfr wrapper
// only passes -c along.
func applyNetwork(o *options, n *config.Network) {
	if o.Filter == "" {
		o.Filter = n.Filter
	}
	if o.SnapLen == 0 {
		o.SnapLen = n.SnapLen
	}
	if n.Promiscuous != nil && !*n.Promiscuous {
		o.NoPromisc = true
	}
	o.AFPacket = o.AFPacket || n.AFPacket
	if o.Workers == 0 {
		o.Workers = n.Workers
	}
	if o.DNSTimeout == 0 {
		o.DNSTimeout = n.DNSTimeoutDuration()
	}
	for _, p := range n.DNSPorts {
		o.DNSPorts = append(o.DNSPorts, strconv.Itoa(p))
	}
	if o.Types == "" {
		o.Types = strings.Join(n.Types, ",")
	}
	if o.User == "" {
		o.User = n.User
	}
}

// liveHint says what to do about an interface that would not open.
func liveHint(ui *cli.UI, err error) {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "no such device"):
		ui.Hintf("list the interfaces with: ip -br link")
	case strings.Contains(msg, "permission denied") || strings.Contains(msg, "operation not permitted"):
		ui.Hintf("capturing needs root or the CAP_NET_RAW capability: run as root, run: sudo setcap cap_net_raw,cap_net_admin=eip %s, or use the nfr-listen systemd unit; nfr check tells what is missing", exePath())
	}
}

func exePath() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return prog
}

func isFile(name string) bool {
	if name == "-" {
		return true
	}
	st, err := os.Stat(name)
	return err == nil && st.Mode().IsRegular()
}
