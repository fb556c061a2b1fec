// Command nfr-scope keeps the events the monitoring scope covers, adding
// the groups that cover each; see nfr-scope(1).
package main

import (
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/scope"
)

type options struct {
	cli.Common
	Scope        string        `long:"scope" value-name:"FILE" description:"scope file (default: config.yml's scope.file, else the built-in scope)"`
	Config       string        `short:"c" long:"config" value-name:"FILE" description:"config.yml (default: $NFR_CONFIG, else /etc/nfr/config.yml if it exists)"`
	Check        bool          `long:"check" description:"validate the scope files given as arguments (or the configured scope) and exit"`
	PrintDefault bool          `long:"print-default" description:"print the built-in scope as YAML and exit"`
	Stats        bool          `long:"stats" description:"print counts to stderr at exit (and on SIGUSR1)"`
	StatsEvery   time.Duration `long:"stats-interval" value-name:"DURATION" description:"also print counts every DURATION while running (e.g. 1m)"`
	LineBuffered bool          `long:"line-buffered" description:"flush output after every line"`
}

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout *os.File, stderr io.Writer) int {
	ui := cli.New("nfr-scope", stderr)
	var opts options
	files, done, code := ui.Parse(&opts, "[OPTIONS] [FILE...]", args, stdout)
	if done {
		return code
	}
	if opts.PrintDefault {
		io.WriteString(stdout, scope.DefaultYAML)
		return cli.ExitOK
	}
	open := func() (*scope.Scope, error) {
		return scope.Open(opts.Scope, opts.Config)
	}
	if opts.Check {
		return check(ui, files, open, stdout)
	}
	sc, err := open()
	if err != nil {
		ui.Errorf("%v", err)
		ui.Hintf("check it with: nfr-scope --check FILE")
		return cli.ExitUsage
	}
	notes(ui, sc)
	w := event.NewWriter(stdout, opts.LineBuffered || cli.IsTerminal(stdout))
	f := scope.NewFilter(sc)
	f.Warn = func(msg string) { ui.Warnf("%s", msg) }
	report := func() {
		ui.Summary()
		if opts.Stats {
			ui.Infof("%s", f.Stats())
		}
		if msg := f.Stats().Explain(f.Scope()); msg != "" {
			ui.Infof("%s", msg)
		}
	}

	// SIGHUP reloads; the first SIGINT lets the input drain to its end
	// (the source before us is stopping too), the first SIGTERM reads what
	// is waiting and stops even if the input goes on; a second one stops
	// now.
	sigs := &cli.Interrupts{Note: cli.DrainNote, Hangup: func() {
		if sc, err := open(); err != nil {
			ui.Errorf("reload: %v; keeping the previous scope", err)
		} else {
			f.SetScope(sc)
			ui.Infof("reloaded %s: %s", sc.Source(), sc.Summary())
			notes(ui, sc)
		}
	}, TermGrace: stopGrace}
	if f, ok := stdin.(*os.File); ok {
		sigs.Input = cli.Interruptible(f)
		stdin = sigs.Input
	}
	sigs.Watch(ui)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			ui.Infof("%s", f.Stats())
		}
	}()

	if opts.StatsEvery > 0 {
		t := time.NewTicker(opts.StatsEvery)
		defer t.Stop()
		go func() {
			for range t.C {
				ui.Infof("%s", f.Stats()) // atomic counters
			}
		}()
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	status := cli.ExitOK
	for _, name := range files {
		err := filterFile(f, name, stdin, w)
		if cli.Cut(err) {
			break
		}
		if err != nil {
			ui.Errorf("%v", err)
			status = cli.ExitFailure
		}
	}
	if err := w.Close(); err != nil {
		ui.Errorf("writing output: %v", err)
		status = cli.ExitFailure
	}
	report()
	return sigs.Status(status)
}

// stopGrace is how long, after SIGTERM, input that is already waiting is
// still read.
const stopGrace = time.Second

// notes reports scope entries that have no effect.
func notes(ui *cli.UI, sc *scope.Scope) {
	for _, n := range sc.Notes() {
		ui.Infof("warning: %s", n)
	}
}

func filterFile(f *scope.Filter, name string, stdin io.Reader, w *event.Writer) error {
	if name == "-" {
		return f.Run(stdin, name, w)
	}
	fh, err := os.Open(name)
	if err != nil {
		return err
	}
	defer fh.Close()
	return f.Run(fh, name, w)
}

// check validates scope files, printing every problem; it exits 2 if any.
func check(ui *cli.UI, files []string, open func() (*scope.Scope, error), stdout io.Writer) int {
	status := cli.ExitOK
	try := func(sc *scope.Scope, err error) {
		if err == nil {
			io.WriteString(stdout, sc.Source()+": ok: "+sc.Summary()+"\n")
			notes(ui, sc)
			return
		}
		status = cli.ExitUsage
		if errs, ok := err.(scope.Errors); ok {
			for _, e := range errs {
				ui.Errorf("%v", e)
			}
			return
		}
		ui.Errorf("%v", err)
	}
	if len(files) == 0 {
		try(open())
	}
	for _, name := range files {
		try(scope.Load(name))
	}
	return status
}
