// Command nfr-engine serves the AlphaSOC-compatible analytics API with the
// built-in scoring engine, so one central NFR scores many sensors.
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

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
	Kafka   string `long:"kafka" value-name:"BROKERS" description:"score the events topic in a consumer group (host:port,... overrides engine.kafka.brokers) instead of serving HTTP"`
	ID      string `long:"id" value-name:"NAME" description:"--kafka: this member's name, unique in the group and kept across restarts (default the host name)"`
}

const usage = "[OPTIONS]\n  nfr-engine [OPTIONS] keys add NAME | keys list | keys revoke ID|PREFIX|NAME"

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
		err := server.KeysCommand(st, args[1:], opts.JSON, os.Stdout, ui.Infof)
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
		MaxBody:        int64(ec.MaxBodyMB) << 20,
		Queue:          ec.Queue,
		AlertsPage:     ec.AlertsPage,
		KeyRequests:    ec.KeyRequests,
		BatchRetention: batchRet,
		AlertRetention: alertRet,
		Notice:         ui.Infof,
	}
	if opts.Verbose {
		scfg.Log = ui.Infof
	}
	factory, err := scorers(cfg, func(s string) { ui.Warnf("%s", s) })
	if err != nil {
		ui.Errorf("%s: score: %v", cfg.Path, err)
		return cli.ExitUsage
	}
	srv := server.New(st, factory, scfg)

	ctx, stop := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		ui.Infof("shutting down: finishing requests in flight (again to quit at once)")
		stop()
		<-sigs
		ui.Errorf("interrupted again: quitting without finishing")
		os.Exit(cli.ExitFailure)
	}()
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

// scorers makes each tenant's scorer: the built-in engine of nfr-score, with
// config.yml's score section. Feeds are loaded once and shared read-only.
func scorers(cfg *config.Config, warn func(string)) (server.ScorerFactory, error) {
	scfg, err := score.ConfigFrom(&cfg.Score)
	if err != nil {
		return nil, err
	}
	scfg.Feeds, err = score.LoadFeeds(&cfg.Score, nil, func(string) {}, warn)
	if err != nil {
		return nil, err
	}
	return func(tenant string) (server.Scorer, error) { return score.New(scfg) }, nil
}
