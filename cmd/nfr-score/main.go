// Command nfr-score is NFR's built-in analytics engine as a filter: events
// in, alerts out. See nfr-score(1).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/intel"
	"github.com/nfr-project/nfr/pkg/score"
)

type options struct {
	cli.Common
	Config       string        `short:"c" long:"config" value-name:"FILE" description:"config.yml (default $NFR_CONFIG, else /etc/nfr/config.yml if it exists)"`
	State        string        `long:"state" value-name:"FILE" description:"keep behavioural state in FILE between runs (overrides score.state)"`
	Feeds        []string      `long:"feed" value-name:"FILE" description:"extra feed: a plain list of domains, IPs, CIDRs, URLs (threat c2); repeatable"`
	MinSeverity  int           `long:"min-severity" value-name:"N" description:"drop alerts below severity N (1-5)"`
	LineBuffered bool          `long:"line-buffered" description:"flush every alert (the default on a terminal)"`
	Stats        bool          `long:"stats" description:"print counters and state sizes on stderr at the end (and on SIGUSR1)"`
	StatsEvery   time.Duration `long:"stats-interval" value-name:"DURATION" description:"also print them every DURATION while running (e.g. 1m)"`
	ListThreats  bool          `long:"list-threats" description:"print the threat catalog and exit"`
	Explain      bool          `long:"explain" description:"say on stderr what became of every finding: alert, folded into an incident, or which score.allow rule dropped it"`
}

func main() { os.Exit(run()) }

func run() int {
	signal.Ignore(syscall.SIGHUP) // until the handler is in place: a reload must not kill us
	// The state is capped, and most garbage is decoded events: collect
	// less often, for speed, unless the user set GOGC.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ui := cli.New("nfr-score", os.Stderr)
	var o options
	files, done, code := ui.Parse(&o, "[OPTIONS] [FILE...]", os.Args[1:], os.Stdout)
	if done {
		return code
	}
	if o.ListThreats {
		for _, t := range score.Catalog {
			kind := "threat"
			if t.Policy {
				kind = "policy"
			}
			fmt.Printf("%-14s %d %-6s %s\n", t.ID, t.Severity, kind, t.Title)
		}
		return cli.ExitOK
	}
	if o.MinSeverity < 0 || o.MinSeverity > 5 {
		return ui.Usagef("--min-severity: %d is outside 0-5 (0 keeps every alert)", o.MinSeverity)
	}
	conf, err := config.Find(o.Config)
	if err != nil {
		ui.Errorf("%v", err)
		return cli.ExitUsage
	}
	sc := &conf.Score
	// GOGC 400 alone lets the heap grow to five times the state; the soft
	// limit (score.memory_limit_mb) keeps the default caps under 256 MB.
	if os.Getenv("GOMEMLIMIT") == "" && sc.MemoryLimitMB > 0 {
		debug.SetMemoryLimit(int64(sc.MemoryLimitMB) << 20)
	}
	cfg, err := score.ConfigFrom(sc)
	if err != nil {
		ui.Errorf("%s: %v", conf.Path, err)
		return cli.ExitUsage
	}
	info := func(s string) {}
	cfg.Feeds, err = score.LoadFeeds(sc, o.Feeds, info, func(s string) { ui.Warnf("%s", s) })
	if err != nil {
		ui.Errorf("%v", err)
		return cli.ExitFailure
	}
	eng, err := score.New(cfg)
	if err != nil {
		ui.Errorf("%v", err)
		return cli.ExitUsage
	}
	if o.Explain {
		eng.Explain = func(ev *event.Event, threat, decision, reason string) {
			fmt.Fprintf(os.Stderr, "nfr-score: explain: %s %s %s: %s: %s: %s\n", ev.TS.UTC().Format(time.RFC3339Nano), ev.Type, score.Subject(ev), threat, decision, reason)
		}
	}
	state := sc.State
	if o.State != "" {
		state = o.State
	}
	if state != "" {
		if err := config.CheckWritable(state); err != nil {
			ui.Errorf("--state: %v", err)
			return cli.ExitFailure
		}
		if err := eng.LoadStateFile(state); err != nil {
			var old *score.StateVersionError
			if !errors.As(err, &old) {
				ui.Errorf("%v", err)
				return cli.ExitFailure
			}
			// Another version's windows: start afresh, the file is
			// rewritten at the end.
			ui.Warnf("%v: starting with empty state", err)
		}
	}
	minSev := max(o.MinSeverity, sc.MinSeverity)
	out := event.NewWriter(os.Stdout, o.LineBuffered || cli.IsTerminal(os.Stdout))
	reload := make(chan *intel.Set, 1)
	f := &score.Filter{Engine: eng, Out: out, MinSeverity: minSev, Reload: reload,
		Warn:          func(m string) { ui.Warnf("%s", cli.Printable(m)) },
		Reloaded:      func(s *intel.Set) { ui.Infof("feeds reloaded: %d indicators", s.Len()) },
		ReorderWindow: sc.Reorder}
	cp := &score.Checkpointer{Engine: eng, Path: state, Flush: out.Flush}
	// A pause of a live input scores the events held for reordering: their
	// alerts are flushed, and the state that covers them is saved when due.
	f.Idle = func() {
		out.Flush()
		cp.Scored() // an error of the output shows at the next write
	}
	stats := cli.NewStatsTicker(o.StatsEvery)
	defer stats.Stop()
	f.AfterBatch = func() error {
		if stats.Due() {
			ui.Infof("%s", score.FormatStats(eng.Stats(), f.Lines, f.Alerts))
		}
		return cp.Scored()
	}
	stdin := cli.Interruptible(os.Stdin)
	sigs := &cli.Interrupts{Input: stdin, Note: cli.DrainNote, TermGrace: time.Second, Hangup: func() {
		s, err := score.LoadFeeds(sc, o.Feeds, info, func(s string) { ui.Warnf("%s", s) })
		if err != nil {
			ui.Errorf("reload: %v (keeping the old feeds)", err)
			return
		}
		if s == nil {
			s = intel.NewSet()
		}
		reload <- s
	}}
	sigs.Watch(ui)
	if len(files) == 0 {
		files = []string{"-"}
	}
	// All inputs are read at once and merged by timestamp.
	code = cli.ExitOK
	var rs []io.Reader
	var names []string
	for _, name := range files {
		if name == "-" {
			rs, names = append(rs, stdin), append(names, name)
			continue
		}
		fh, err := os.Open(name)
		if err != nil {
			ui.Errorf("%v", err)
			code = cli.ExitFailure
			continue
		}
		defer fh.Close()
		rs, names = append(rs, fh), append(names, name)
	}
	if err := f.RunAll(rs, names); cli.Cut(err) {
		// a second interrupt, or SIGTERM on endless input: what was read
		// is scored, the state saved, and the program stops
	} else if err != nil {
		ui.Errorf("%v", err)
		code = cli.ExitFailure
	}
	if err := f.Flush(); err != nil && code == cli.ExitOK {
		ui.Errorf("writing alerts: %v", err)
		code = cli.ExitFailure
	}
	if err := out.Close(); err != nil {
		ui.Errorf("writing alerts: %v", err)
		code = cli.ExitFailure
	}
	if state != "" {
		if err := eng.SaveStateFile(state); err != nil {
			ui.Errorf("%v", err)
			code = cli.ExitFailure
		}
	}
	if f.Skipped > 0 {
		ui.Summary()
		ui.Warnf("%d bad lines skipped", f.Skipped)
	}
	if o.Stats {
		ui.Infof("%s; %d events more than score.reorder late", score.FormatStats(eng.Stats(), f.Lines, f.Alerts), f.Late())
	}
	return sigs.Status(code)
}
