package tail

import (
	"errors"
	"io"
	"slices"
	"time"

	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/event"
)

// Flags are the options every log reader takes (nfr-parse-bro,
// nfr-parse-suricata); each embeds them in its own options.
type Flags struct {
	Follow       bool          `short:"f" long:"follow" description:"keep reading as files grow, across rotation and truncation (like tail -F)"`
	State        string        `long:"state" value-name:"FILE" description:"remember in FILE where each log was left, and resume there (saved after every flush)"`
	Poll         time.Duration `long:"poll" value-name:"DURATION" default:"250ms" description:"with --follow, how often to look for new data"`
	LineBuffered bool          `long:"line-buffered" description:"flush output after every event"`
	Stats        bool          `long:"stats" description:"print counts to stderr at the end (and on SIGUSR1)"`
	StatsEvery   time.Duration `long:"stats-interval" value-name:"DURATION" description:"also print counts every DURATION while running (e.g. 1m)"`
	Strict       bool          `long:"strict" description:"stop with an error at the first malformed line"`
}

// A Parser turns the lines of one log into events.
type Parser interface {
	Line(line []byte, emit func(*event.Event) error) error
	Context() []byte
	Flush(emit func(*event.Event) error) error
}

// Result is what a run read, for --stats.
type Result struct {
	Stats
	Events int64            // events written
	ByType map[string]int64 // events by type
}

// Main runs a log reader program over files once its options are parsed:
// the checks every reader makes, the output (line-buffered when asked or on
// a terminal), --state and --follow, the warnings, and the exit status.
// newParser makes a file's parser; done, when set, gets what was read
// before the status is decided. example names files for hints
// ("dns.log dns.log.1.gz").
func Main(ui *cli.UI, f *Flags, files []string, stdout io.Writer, terminal bool, example string,
	newParser func(name string) Parser, done func(Result)) int {
	if f.State != "" && (len(files) == 0 || slices.Contains(files, "-")) {
		ui.Errorf("--state needs FILE arguments: stdin has no place to resume from")
		ui.Hintf("run: %s --state %s %s", ui.Prog, f.State, example)
		return cli.ExitUsage
	}
	lineBuffered := f.LineBuffered || terminal
	w := event.NewWriter(stdout, lineBuffered)
	if f.Follow {
		w.FlushEvery(time.Second)
	}
	out := NewOutput(w, lineBuffered)
	opt := Options{
		Follow: f.Follow, State: f.State, Poll: f.Poll, Stop: StopOnSignal(),
		New:  func(name string) Handler { return handler{newParser(name), out.Emit} },
		Sync: out.Sync,
	}
	opt.Report(ui, out, f.Strict)
	ticker := cli.NewStatsTicker(f.StatsEvery)
	defer ticker.Stop()
	opt.Tick = func(st Stats) {
		if ticker.Due() {
			ui.Infof("%d files, %d lines, %d events (%s), %d skipped so far", st.Files, st.Lines, w.Lines(), Counts(out.ByType), st.Skipped)
		}
	}
	if f.State != "" {
		lock, err := Lock(f.State)
		if err != nil {
			ui.Errorf("%v", err)
			return cli.ExitFailure
		}
		defer lock.Close()
	}
	st, err := Run(files, opt)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	ui.Summary()
	if done != nil {
		done(Result{Stats: st, Events: w.Lines(), ByType: out.ByType})
	}
	if err != nil {
		var oe *OpenError
		if !errors.As(err, &oe) { // those were reported as they happened
			ui.Errorf("%v", err)
		}
		var le *LineError
		if errors.As(err, &le) {
			ui.Hintf("drop --strict to skip malformed lines with a warning")
		}
		return cli.ExitFailure
	}
	return cli.ExitOK
}

type handler struct {
	p    Parser
	emit func(*event.Event) error
}

func (h handler) Line(l []byte) error { return h.p.Line(l, h.emit) }
func (h handler) Context() []byte     { return h.p.Context() }
func (h handler) Flush() error        { return h.p.Flush(h.emit) }
