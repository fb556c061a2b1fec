// Command nfr-capture turns capture files and live interfaces into dns
// events (and, as their analysers land, ip, http and tls events).
package main

import (
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/nfr-project/nfr/pkg/capture"
	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
)

const prog = "nfr-capture"

type options struct {
	cli.Common
	Config       string        `short:"c" long:"config" value-name:"FILE" description:"config.yml for the analysis bounds (default $NFR_CONFIG, else /etc/nfr/config.yml if it exists)"`
	Read         []string      `short:"r" long:"read" value-name:"FILE" description:"read a pcap or pcapng file (gzip too; - is stdin); repeat for several, in order"`
	Interface    string        `short:"i" long:"interface" value-name:"IFACE" description:"capture live on IFACE (any: every interface)"`
	Filter       string        `short:"f" long:"filter" value-name:"EXPR" description:"BPF filter in tcpdump syntax (live capture)"`
	SnapLen      int           `short:"s" long:"snaplen" value-name:"BYTES" default:"262144" description:"bytes captured per packet (live capture)"`
	NoPromisc    bool          `short:"p" long:"no-promiscuous" description:"do not put the interface into promiscuous mode"`
	DNSPorts     []string      `long:"dns-port" value-name:"PORT[,PORT]" description:"also decode DNS on PORT (53 always)"`
	DNSTimeout   time.Duration `long:"dns-timeout" value-name:"DURATION" default:"5s" description:"emit a query without response after DURATION"`
	Types        string        `short:"t" long:"types" value-name:"LIST" description:"event types to emit, of dns,ip,http,tls (default: every one built in)"`
	Stats        bool          `long:"stats" description:"print counters to stderr at exit (SIGUSR1 prints them any time)"`
	LineBuffered bool          `long:"line-buffered" description:"flush every event line"`
}

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	ui := cli.New(prog, os.Stderr)
	var o options
	rest, done, code := ui.Parse(&o, "[OPTIONS] [IFACE] | -r FILE...", args, os.Stdout)
	if done {
		return code
	}
	usage := func(format string, a ...any) int {
		ui.Errorf(format, a...)
		ui.Hintf("run: %s --help", prog)
		return cli.ExitUsage
	}
	files := append([]string(nil), o.Read...)
	iface := o.Interface
	switch {
	case len(files) > 0:
		files = append(files, rest...)
	case iface == "" && len(rest) == 1 && isFile(rest[0]):
		files = rest // nfr-capture trace.pcap: a file, not an interface
	case iface == "" && len(rest) == 1:
		iface = rest[0]
	case len(rest) > 0:
		return usage("unexpected argument %q", rest[len(rest)-1])
	}
	if iface != "" && len(files) > 0 {
		return usage("give an interface or -r FILE, not both")
	}
	if iface == "" && len(files) == 0 {
		ui.Errorf("nothing to read")
		ui.Hintf("run: %s eth0, or %s -r FILE.pcap", prog, prog)
		return cli.ExitUsage
	}
	ports, err := capture.ParsePorts(o.DNSPorts)
	if err != nil {
		return usage("--dns-port: %v", err)
	}
	if o.DNSTimeout <= 0 {
		return usage("--dns-timeout must be positive")
	}
	types := capture.DefaultTypes()
	if o.Types != "" {
		types = strings.Split(o.Types, ",")
	}

	cfg, err := config.Find(o.Config)
	if err != nil {
		ui.Errorf("%v", err)
		return cli.ExitUsage
	}

	// The heap is bounded by the analysers' limits; collect less often, but
	// keep the process under a fixed ceiling when flow tables fill up.
	debug.SetGCPercent(400)
	debug.SetMemoryLimit(200 << 20)
	lineBuffered := o.LineBuffered || cli.IsTerminal(os.Stdout)
	w := event.NewWriter(os.Stdout, lineBuffered)
	em := capture.NewEmitter(w, lineBuffered)
	an, err := capture.NewAnalysers(types, capture.Options{DNSPorts: ports, DNSTimeout: o.DNSTimeout, Emit: em.Emit, Analysis: cfg.Analysis})
	if err != nil {
		em.Close()
		return usage("--types: %v", err)
	}
	r := &capture.Runner{Decoder: decode.NewDecoder(an.Handlers...), DNS: an.DNS, L7: an.L7, Live: iface != ""}
	r.OnStats = func() { em.Flush(); r.WriteStats(os.Stderr, prog) }
	if r.Live {
		r.OnTick = em.Pass
	}

	// SIGINT and SIGTERM stop the source, so pending transactions are
	// flushed and the exit status is 0; SIGUSR1 asks for the counters.
	g := &capture.Guard{}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			if s == syscall.SIGUSR1 {
				r.RequestStats()
			} else {
				g.Stop()
			}
		}
	}()

	status := cli.ExitOK
	if r.Live {
		w.FlushEvery(time.Second)
		err = r.RunLive(capture.LiveConfig{Interface: iface, Filter: o.Filter, SnapLen: o.SnapLen, NoPromisc: o.NoPromisc}, g)
	} else {
		err = r.RunFiles(files, os.Stdin, g)
	}
	if err != nil {
		ui.Errorf("%v", err)
		if r.Live && strings.Contains(strings.ToLower(err.Error()), "no such device") {
			ui.Hintf("list the interfaces with: ip -br link")
		}
		status = cli.ExitFailure
	}
	r.Finish()
	err = em.Close()
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		ui.Errorf("writing events: %v", err)
		status = cli.ExitFailure
	}
	if o.Stats {
		r.WriteStats(os.Stderr, prog)
	}
	return status
}

func isFile(name string) bool {
	if name == "-" {
		return true
	}
	st, err := os.Stat(name)
	return err == nil && st.Mode().IsRegular()
}
