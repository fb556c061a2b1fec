// Command nfr-parse-suricata turns Suricata eve.json dns, flow, http and tls
// records into NFR events on stdout.
package main

import (
	"errors"
	"os"
	"slices"
	"time"

	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/suricata"
	"github.com/nfr-project/nfr/pkg/tail"
)

type options struct {
	cli.Common
	Follow       bool          `short:"f" long:"follow" description:"keep reading as files grow, across rotation and truncation (like tail -F)"`
	State        string        `long:"state" value-name:"FILE" description:"remember in FILE where each log was left, and resume there"`
	Poll         time.Duration `long:"poll" value-name:"DURATION" default:"250ms" description:"with --follow, how often to look for new data"`
	LineBuffered bool          `long:"line-buffered" description:"flush output after every event"`
	Stats        bool          `long:"stats" description:"print counts to stderr at the end"`
	Strict       bool          `long:"strict" description:"stop with an error at the first malformed line"`
}

const usage = "[OPTION]... [FILE]...\n\nRead Suricata eve.json (plain or gzip; none or - is stdin) and write dns, ip,\nhttp and tls events, one JSON object per line. Other event types are counted\nand ignored."

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	ui := cli.New("nfr-parse-suricata", os.Stderr)
	var o options
	files, done, code := ui.Parse(&o, usage, args, os.Stdout)
	if done {
		return code
	}
	if o.State != "" && (len(files) == 0 || slices.Contains(files, "-")) {
		ui.Errorf("--state needs FILE arguments: stdin has no place to resume from")
		ui.Hintf("run: nfr-parse-suricata --state %s eve.json eve.json.1.gz", o.State)
		return cli.ExitUsage
	}
	lineBuffered := o.LineBuffered || cli.IsTerminal(os.Stdout)
	w := event.NewWriter(os.Stdout, lineBuffered)
	if o.Follow {
		w.FlushEvery(time.Second)
	}
	out := tail.NewOutput(w, lineBuffered)
	var parsers []*suricata.Parser
	topt := tail.Options{
		Follow: o.Follow, State: o.State, Poll: o.Poll, Stop: tail.StopOnSignal(),
		New: func(name string) tail.Handler {
			p := suricata.NewParser(name)
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
		var records, unanswered int64
		ignored := map[string]int64{}
		for _, p := range parsers {
			records += p.Stats.Records
			unanswered += p.Stats.Unanswered
			for k, v := range p.Stats.Ignored {
				ignored[k] += v
			}
		}
		ui.Infof("%d files, %d lines, %d records, %d events (%s), %d dns queries without answer, %d skipped", st.Files, st.Lines, records, w.Lines(), tail.Counts(out.ByType), unanswered, st.Skipped)
		if len(ignored) > 0 {
			ui.Infof("ignored records: %s", tail.Counts(ignored))
		}
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
	p    *suricata.Parser
	emit func(*event.Event) error
}

func (h handler) Line(l []byte) error { return h.p.Line(l, h.emit) }
func (h handler) Context() []byte     { return h.p.Context() }
func (h handler) Flush() error        { return h.p.Flush(h.emit) }
