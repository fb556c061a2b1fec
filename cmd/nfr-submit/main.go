// Command nfr-submit sends events to an AlphaSOC-compatible analytics API
// through an on-disk spool and writes the alerts it polls back as alert
// events. See nfr-submit(1).
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nfr-project/nfr/pkg/account"
	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/bus"
	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/spool"
	"github.com/nfr-project/nfr/pkg/submit"
)

type options struct {
	cli.Common
	Config       string        `short:"c" long:"config" value-name:"FILE" description:"config.yml (default $NFR_CONFIG, else /etc/nfr/config.yml)"`
	Host         string        `long:"host" value-name:"URL" description:"API base URL (overrides alphasoc.host)"`
	Spool        string        `long:"spool" value-name:"DIR" description:"spool directory (overrides submit.spool)"`
	Output       string        `short:"o" long:"output" value-name:"FILE" description:"append alerts to FILE instead of stdout"`
	NoAlerts     bool          `long:"no-alerts" description:"send events only; do not poll alerts"`
	AlertsOnly   bool          `long:"alerts-only" description:"read no input; poll alerts until stopped"`
	Wait         time.Duration `long:"wait" value-name:"DURATION" description:"after the input is sent, poll until no alert came for DURATION"`
	PollInterval time.Duration `long:"poll-interval" value-name:"DURATION" description:"alert polling interval (overrides submit.poll_interval)"`
	LineBuffered bool          `long:"line-buffered" description:"flush alerts after every line"`
	Verbose      bool          `short:"v" long:"verbose" description:"report what was sent at the end"`
	StatsEvery   time.Duration `long:"stats-interval" value-name:"DURATION" description:"print what was sent so far every DURATION (also on SIGUSR1)"`
	Kafka        string        `long:"kafka" value-name:"BROKERS" description:"produce events to Kafka (host:port,... overrides submit.kafka.brokers) instead of the API"`
}

func main() { os.Exit(run()) }

func run() int {
	ui := cli.New("nfr-submit", os.Stderr)
	var o options
	args, done, code := ui.Parse(&o, "[OPTION]... [FILE]...", os.Args[1:], os.Stdout)
	if done {
		return code
	}
	if o.NoAlerts && o.AlertsOnly {
		return ui.Usagef("--no-alerts and --alerts-only exclude each other")
	}
	if o.AlertsOnly && len(args) > 0 {
		return ui.Usagef("--alerts-only reads no input, but files were given")
	}
	cfg, err := config.Find(o.Config)
	if err != nil {
		ui.Errorf("%v", err)
		return cli.ExitUsage
	}
	sc := cfg.Submit
	if o.Spool != "" {
		sc.Spool = o.Spool
	}
	if o.PollInterval > 0 {
		sc.PollInterval = o.PollInterval
	}
	if sc.Cursor == "" {
		sc.Cursor = filepath.Join(sc.Spool, "alerts.follow")
	}
	if o.Kafka != "" {
		sc.Kafka.Brokers = strings.Split(o.Kafka, ",")
	}
	var dest submit.Destination
	var client *api.Client
	if len(sc.Kafka.Brokers) > 0 {
		if o.AlertsOnly {
			return ui.Usagef("--alerts-only polls the API, but events go to Kafka (nfr-engine --kafka writes the alerts topic)")
		}
		if msg := account.ExposedConfig(cfg.Path); msg != "" && sc.Kafka.Password != "" {
			ui.Warnf("%s", msg)
			ui.Hintf("run: chmod 600 %s, or set $%s instead of submit.kafka.password", cfg.Path, config.KafkaPasswordEnv)
		}
		p, err := bus.NewProducer(sc.Kafka, "nfr-submit", sc.Timeout)
		if err != nil {
			ui.Errorf("%v", err)
			return cli.ExitUsage
		}
		defer p.Close()
		// One batch in flight keeps each source's events of a type in order.
		dest, o.NoAlerts, sc.Connections, sc.Gzip = p, true, 1, false
	} else {
		c, code := apiClient(ui, cfg, &o, &sc)
		if c == nil {
			return code
		}
		defer c.Close()
		client, dest = c, c
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The first interrupt drains the input into the spool; the second
	// cancels what is in flight and exits (the spool holds every event
	// taken, so nothing accepted is lost).
	interrupt := make(chan struct{})
	sigs := &cli.Interrupts{First: func() { close(interrupt) }, Last: cancel, Graceful: true}
	sigs.Watch(ui)
	defer sigs.Stop()

	r := &submit.Runner{Wait: o.Wait, Interrupt: interrupt, Grace: min(sc.Timeout, 10*time.Second),
		Warn: func(msg string) { ui.Warnf("%s", msg) }}
	spoolFailed := func(err error) int {
		ui.Errorf("%v", err)
		ui.Hintf("set submit.spool in %s, or run: nfr-submit --spool DIR", cfg.Path)
		return cli.ExitFailure
	}
	if err := os.MkdirAll(sc.Spool, 0o700); err != nil {
		return spoolFailed(err)
	}
	if !o.NoAlerts {
		out, sync := os.Stdout, func() error { return nil }
		if o.Output != "" && o.Output != "-" {
			f, err := os.OpenFile(o.Output, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
			if err != nil {
				ui.Errorf("%v", err)
				return cli.ExitFailure
			}
			defer f.Close()
			out, sync = f, f.Sync
		}
		w := event.NewWriter(out, o.LineBuffered || cli.IsTerminal(out))
		defer w.Close()
		r.Poller = &submit.Poller{Client: client, Out: w, Sync: sync, CursorPath: sc.Cursor, Interval: sc.PollInterval,
			RetryMin: sc.RetryMin, RetryMax: sc.RetryMax, Log: ui}
		defer r.Poller.Close()
	}
	if !o.AlertsOnly {
		sp, err := spool.Open(spool.Options{Dir: sc.Spool, Limit: sc.SpoolLimitMB << 20, Fsync: sc.Fsync,
			MaxEvents: sc.BatchEvents, MaxBytes: sc.BatchBytes,
			Warn: func(m string) { ui.Warnf("%s", m) }, Info: func(m string) { ui.Infof("%s", m) }})
		if err != nil {
			return spoolFailed(err)
		}
		defer sp.Close()
		r.Sender = &submit.Sender{Client: dest, Spool: sp, Log: ui, Connections: sc.Connections, Gzip: sc.Gzip,
			BatchAge: sc.BatchAge, RetryMin: sc.RetryMin, RetryMax: sc.RetryMax}
		inputs, closeInputs, err := submit.OpenInputs(args, os.Stdin)
		if err != nil {
			ui.Errorf("%v", err)
			return cli.ExitFailure
		}
		defer closeInputs()
		r.Inputs = inputs
	}

	stopProgress := progress(ui, o.StatsEvery, r)
	err = r.Run(ctx)
	stopProgress()
	if r.Sender != nil {
		// Events read but not yet written (a full disk) are lost at exit.
		if cerr := r.Sender.Spool.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	r.Report(ui, o.Verbose)
	ui.Summary()
	var ke *submit.KeyError
	var se *submit.StoppedError
	switch {
	case errors.As(err, &ke):
		ui.Errorf("%v", ke)
		ui.Hintf("run: nfr account status")
		return cli.ExitFailure
	case errors.As(err, &se):
		ui.Warnf("%v", se)
		return cli.ExitFailure
	case err != nil:
		ui.Errorf("%v", err)
		return cli.ExitFailure
	case r.Sender != nil && r.Sender.Stats().RejectedBatches > 0:
		return cli.ExitFailure // events not delivered, kept in rejected/ (reported)
	case r.Sender != nil && r.Sender.Spool.BadRecords() > 0:
		return cli.ExitFailure // unreadable spool records, kept in rejected/ (reported)
	}
	return cli.ExitOK
}

// progress prints the run's progress on SIGUSR1 and every interval (if
// above 0) until the returned func is called.
func progress(ui *cli.UI, every time.Duration, r *submit.Runner) func() {
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	var tick <-chan time.Time
	var t *time.Ticker
	if every > 0 {
		t = time.NewTicker(every)
		tick = t.C
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-usr1:
			case <-tick:
			case <-done:
				return
			}
			ui.Infof("%s", r.Progress())
		}
	}()
	return func() {
		signal.Stop(usr1)
		if t != nil {
			t.Stop()
		}
		close(done)
	}
}

// apiClient makes the client of the analytics API, or returns nil and the
// exit status after saying what is wrong.
func apiClient(ui *cli.UI, cfg *config.Config, o *options, sc *config.Submit) (*api.Client, int) {
	host := cfg.AlphaSOC.Host
	if o.Host != "" {
		host = o.Host
	}
	key := cfg.AlphaSOC.Key()
	if key == "" {
		ui.Errorf("no API key: set alphasoc.api_key in %s or $%s", cfg.Path, config.KeyEnv)
		ui.Hintf("run: nfr account register")
		return nil, cli.ExitUsage
	}
	if msg := account.ExposedConfig(cfg.Path); msg != "" && cfg.AlphaSOC.APIKey != "" {
		ui.Warnf("%s", msg)
		ui.Hintf("run: chmod 600 %s", cfg.Path)
	}
	if api.Cleartext(host) {
		ui.Warnf("%s is plain http: the API key and events cross the network unencrypted", host)
	}
	client, err := api.NewClient(host, api.ClientOptions{Key: key, Version: cli.Version, Timeout: sc.Timeout, MaxConns: sc.Connections})
	if err != nil {
		return nil, ui.Usagef("--host: %v", err)
	}
	return client, cli.ExitOK
}
