// Command nfr-engine serves the AlphaSOC-compatible analytics API with the
// built-in scoring engine, so one central NFR scores many sensors.
package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/alert"
	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/score"
	"github.com/nfr-project/nfr/pkg/server"
)

type options struct {
	cli.Common
	Config  string `short:"c" long:"config" value-name:"FILE" description:"configuration file (default $NFR_CONFIG, else /etc/nfr/config.yml)"`
	Listen  string `short:"l" long:"listen" value-name:"ADDR" description:"address to listen on (default engine.listen, 127.0.0.1:8080)"`
	DB      string `long:"db" value-name:"FILE" description:"SQLite database (default engine.db, /var/lib/nfr/engine.db)"`
	TLSCert string `long:"tls-cert" value-name:"FILE" description:"PEM certificate: serve HTTPS (with --tls-key)"`
	TLSKey  string `long:"tls-key" value-name:"FILE" description:"PEM private key of --tls-cert"`
	Verbose bool   `short:"v" long:"verbose" description:"log every request on stderr"`
	JSON    bool   `long:"json" description:"keys list: one JSON object per key"`
	Account string `long:"account" value-name:"NAME" description:"keys add: a key for this existing account (tenant or registered name)"`
	Kafka   string `long:"kafka" value-name:"BROKERS" description:"score the events topic in a consumer group (host:port,... overrides engine.kafka.brokers) instead of serving HTTP"`
	ID      string `long:"id" value-name:"NAME" description:"--kafka: this member's name, unique in the group and kept across restarts (default the host name)"`
}

const usage = "[OPTIONS]\n  nfr-engine [OPTIONS] keys add NAME | keys add --account NAME | keys list | keys revoke ID|PREFIX|NAME | keys admin"

func main() { os.Exit(run()) }

func run() int {
	ui := cli.New("nfr-engine", os.Stderr)
	var opts options
	args, done, code := ui.Parse(&opts, usage, os.Args[1:], os.Stdout)
	if done {
		return code
	}
	cfg, err := config.Find(opts.Config)
	if err != nil {
		ui.Errorf("%v", err)
		return cli.ExitUsage
	}
	ec := cfg.Engine
	for _, o := range []struct{ flag, conf *string }{{&opts.Listen, &ec.Listen}, {&opts.DB, &ec.DB}, {&opts.TLSCert, &ec.TLSCert}, {&opts.TLSKey, &ec.TLSKey}} {
		if *o.flag != "" {
			*o.conf = *o.flag
		}
	}
	if (ec.TLSCert == "") != (ec.TLSKey == "") {
		ui.Errorf("a TLS certificate needs its key, and a key its certificate")
		ui.Hintf("run: nfr-engine --tls-cert cert.pem --tls-key key.pem")
		return cli.ExitUsage
	}
	if len(args) > 0 && args[0] != "keys" {
		return ui.Usagef("unknown command %q", args[0])
	}
	if opts.Kafka != "" {
		ec.Kafka.Brokers = strings.Split(opts.Kafka, ",")
	}
	if opts.Kafka != "" || opts.ID != "" {
		if len(args) > 0 {
			return ui.Usagef("--kafka takes no command")
		}
		return runKafka(ui, cfg, ec.Kafka, opts.ID)
	}
	// A usage error is told before a database is opened (or created).
	if len(args) == 1 {
		return ui.Usagef("keys: missing subcommand (add NAME, list, revoke ID|PREFIX|NAME, admin)")
	}
	if len(args) > 1 && args[1] != "add" && args[1] != "list" && args[1] != "revoke" && args[1] != "admin" {
		return ui.Usagef("keys: unknown subcommand %q (add, list, revoke, admin)", args[1])
	}
	if len(args) == 0 {
		os.MkdirAll(filepath.Dir(ec.DB), 0o750)
	}
	st, err := server.OpenStore(ec.DB, ec.Sync)
	if err != nil {
		ui.Errorf("database: %v", err)
		return cli.ExitFailure
	}
	defer st.Close()

	if len(args) > 0 {
		var err error
		switch {
		case opts.Account != "" && len(args) == 2 && args[1] == "add":
			err = server.AccountKey(st, opts.Account, os.Stdout, ui.Infof)
		case opts.Account != "":
			return ui.Usagef("--account goes with keys add alone: nfr-engine keys add --account NAME")
		default:
			err = server.KeysCommand(st, args[1:], opts.JSON, os.Stdout, ui.Infof)
		}
		var ue *server.UsageError
		if errors.As(err, &ue) {
			return ui.Usagef("%v", err)
		}
		if err != nil {
			ui.Errorf("%v", err)
			return cli.ExitFailure
		}
		return cli.ExitOK
	}

	batchRet, alertRet := ec.Retention()
	scfg := server.Config{
		MaxBody:            int64(ec.MaxBodyMB) << 20,
		Queue:              ec.Queue,
		AlertsPage:         ec.AlertsPage,
		KeyRequests:        ec.KeyRequestsOn(),
		MaxTenants:         ec.MaxTenants,
		KeyRequestsPerHour: ec.KeyRequestsPerHour,
		BatchRetention:     batchRet,
		AlertRetention:     alertRet,
		Notice:             ui.Infof,
		Catalog:            catalog(),
	}
	if opts.Verbose {
		scfg.Log = ui.Infof
	}
	factory, err := scorers(cfg, func(s string) { ui.Warnf("%s", s) })
	if err != nil {
		ui.Errorf("%s: score: %v", cfg.Path, err)
		return cli.ExitUsage
	}
	if ec.DeliverAlerts {
		outs, err := alert.OutputsFrom(&cfg.Alerts, cfg.SensorName(), cli.Version)
		if err == nil && len(outs) == 0 {
			err = errors.New("engine.deliver_alerts is set but alerts.outputs is empty")
		}
		if err != nil {
			ui.Errorf("%s: %v", cfg.Path, err)
			return cli.ExitUsage
		}
		f := &alert.Filter{Outputs: outs, Sensor: cfg.SensorName(), Warn: func(s string) { ui.Warnf("%s", s) }}
		for _, o := range outs {
			o.Warn, o.Info = func(s string) { ui.Warnf("%s", s) }, func(s string) { ui.Infof("%s", s) }
		}
		if err := f.Start(); err != nil {
			ui.Errorf("alert outputs: %v", err)
			return cli.ExitFailure
		}
		defer func() {
			if q := f.Drain(5 * time.Second); q > 0 {
				ui.Warnf("%d alerts still queued for delivery: they are delivered on the next start", q)
			}
		}()
		scfg.Outputs = f
	}
	srv := server.New(st, factory, scfg)

	ctx, stop := context.WithCancel(context.Background())
	// The family's rule (cli.Interrupts): the first INT or TERM finishes
	// the requests in flight, the second quits at once; HUP is ignored.
	sigs := &cli.Interrupts{Note: "shutting down: finishing requests in flight (again to quit at once)", First: stop,
		Last: func() { ui.Errorf("interrupted again: quitting without finishing") }}
	sigs.Watch(ui)
	defer sigs.Stop()
	err = srv.Serve(ctx, server.Listener{
		Addr: ec.Listen, CertFile: ec.TLSCert, KeyFile: ec.TLSKey,
		Ready: func(url string) {
			ui.Infof("listening on %s, database %s", url, ec.DB)
			if n, err := st.ActiveKeys(); err == nil && n == 0 {
				ui.Hintf("no API keys yet: run: nfr-engine --db %s keys add NAME", ec.DB)
			}
		},
	})
	if err != nil {
		ui.Errorf("%v", err)
		return cli.ExitFailure
	}
	return cli.ExitOK
}

// catalog is the threat catalog for the console's pages.
func catalog() map[string]api.ThreatInfo {
	m := make(map[string]api.ThreatInfo, len(score.Catalog))
	for _, t := range score.Catalog {
		m[t.ID] = api.ThreatInfo{Title: t.Title, Severity: t.Severity, Policy: t.Policy}
	}
	return m
}

// scorers makes each tenant's scorer: the built-in engine of nfr-score, with
// config.yml's score section, behind the reorder buffer of score.reorder
// (sensors send each event type in its own batches). Feeds are loaded once
// and shared read-only.
func scorers(cfg *config.Config, warn func(string)) (server.ScorerFactory, error) {
	scfg, err := score.ConfigFrom(&cfg.Score)
	if err != nil {
		return nil, err
	}
	scfg.Feeds, err = score.LoadFeeds(&cfg.Score, nil, func(string) {}, warn)
	if err != nil {
		return nil, err
	}
	return func(tenant string) (server.Scorer, error) {
		e, err := score.New(scfg)
		if err != nil {
			return nil, err
		}
		return score.NewOrdered(e, cfg.Score.Reorder), nil
	}, nil
}
