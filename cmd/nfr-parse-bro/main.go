// Command nfr-parse-bro turns Zeek (Bro) dns, conn, http and ssl logs into
// NFR events on stdout.
package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/tail"
	"github.com/nfr-project/nfr/pkg/zeek"
)

type options struct {
	cli.Common
	Type         string        `short:"t" long:"type" value-name:"KIND" choice:"dns" choice:"conn" choice:"http" choice:"ssl" choice:"x509" description:"read every input as this log kind, whatever its #path, _path or name says"`
	Follow       bool          `short:"f" long:"follow" description:"keep reading as files grow, across rotation and truncation (like tail -F)"`
	State        string        `long:"state" value-name:"FILE" description:"remember in FILE where each log was left, and resume there"`
	Poll         time.Duration `long:"poll" value-name:"DURATION" default:"250ms" description:"with --follow, how often to look for new data"`
	LineBuffered bool          `long:"line-buffered" description:"flush output after every event"`
	Stats        bool          `long:"stats" description:"print counts to stderr at the end"`
	Strict       bool          `long:"strict" description:"stop with an error at the first malformed line"`
}

const usage = "[OPTION]... [FILE]...\n\nRead Zeek logs (TSV or JSON, plain or gzip; none or - is stdin) and write\ndns, ip, http and tls events, one JSON object per line. An x509.log given\nalongside completes the certificate fields of ssl.log records."

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	ui := cli.New("nfr-parse-bro", os.Stderr)
	var o options
	files, done, code := ui.Parse(&o, usage, args, os.Stdout)
	if done {
		return code
	}
	if o.State != "" && (len(files) == 0 || slices.Contains(files, "-")) {
		ui.Errorf("--state needs FILE arguments: stdin has no place to resume from")
		ui.Hintf("run: nfr-parse-bro --state %s dns.log dns.log.1.gz", o.State)
		return cli.ExitUsage
	}
	// x509 logs first, so ssl records read after them find their certificates.
	sort.SliceStable(files, func(i, j int) bool { return isX509(files[i], o.Type) && !isX509(files[j], o.Type) })

	lineBuffered := o.LineBuffered || cli.IsTerminal(os.Stdout)
	w := event.NewWriter(os.Stdout, lineBuffered)
	if o.Follow {
		w.FlushEvery(time.Second)
	}
	out := tail.NewOutput(w, lineBuffered)
	certs := zeek.NewCerts()
	var parsers []*zeek.Parser
	topt := tail.Options{
		Follow: o.Follow, State: o.State, Poll: o.Poll, Stop: tail.StopOnSignal(),
		New: func(name string) tail.Handler {
			p := zeek.NewParser(name, o.Type, certs)
			parsers = append(parsers, p)
			return handler{p, out.Emit}
		},
		Sync: out.Sync,
	}
	topt.Report(ui, out, o.Strict)
	if o.State != "" {
		lock, err := tail.Lock(o.State)
		if err != nil {
			ui.Errorf("%v", err)
			return cli.ExitFailure
		}
		defer lock.Close()
	}
	st, err := tail.Run(files, topt)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	ui.Summary()
	if o.Stats {
		var records int64
		ignored := map[string]int64{}
		for _, p := range parsers {
			records += p.Stats.Records
			for k, v := range p.Stats.Ignored {
				ignored[k] += v
			}
		}
		ui.Infof("%d files, %d lines, %d records, %d events (%s), %d skipped", st.Files, st.Lines, records, w.Lines(), tail.Counts(out.ByType), st.Skipped)
		if len(ignored) > 0 {
			ui.Infof("ignored records: %s", tail.Counts(ignored))
		}
	}
	var unknown int64
	for _, p := range parsers {
		unknown += p.Stats.Ignored["unknown"]
	}
	if unknown > 0 && o.Type == "" {
		ui.Warnf("%d records of a log whose kind could not be told (no #path, no _path, no telling file name)", unknown)
		ui.Hintf("name the kind: nfr-parse-bro --type dns (or conn, http, ssl, x509)")
	}
	if err != nil {
		var oe *tail.OpenError
		if !errors.As(err, &oe) { // those were reported as they happened
			ui.Errorf("%v", err)
		}
		var le *tail.LineError
		if errors.As(err, &le) {
			ui.Hintf("drop --strict to skip malformed lines with a warning")
		}
		return cli.ExitFailure
	}
	return cli.ExitOK
}

type handler struct {
	p    *zeek.Parser
	emit func(*event.Event) error
}

func (h handler) Line(l []byte) error { return h.p.Line(l, h.emit) }
func (h handler) Context() []byte     { return h.p.Context() }
func (h handler) Flush() error        { return h.p.Flush(h.emit) }

func isX509(name, typ string) bool {
	return typ == "" && zeek.KindFromName(filepath.Base(name)) == zeek.KindX509
}
