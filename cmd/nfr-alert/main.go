// Command nfr-alert delivers alerts where a SOC works: syslog, CEF, LEEF,
// GELF, ECS, webhooks, Splunk HEC, Elasticsearch. Alert lines in, passed
// through to stdout unchanged. See nfr-alert(1).
package main

import (
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/nfr-project/nfr/pkg/alert"
	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/event"
)

type options struct {
	cli.Common
	Config       string        `short:"c" long:"config" value-name:"FILE" description:"config.yml (default $NFR_CONFIG, else /etc/nfr/config.yml if it exists)"`
	Output       []string      `short:"o" long:"output" value-name:"URL" description:"deliver to URL instead of alerts.outputs (file:PATH, syslog+udp|tcp|tls|relp://HOST:PORT, syslog:///dev/log, gelf+udp|tcp://HOST:PORT, http(s)://..., stdout); repeatable"`
	Format       string        `short:"f" long:"format" value-name:"NAME" description:"format for -o: json, ecs, cef, leef, gelf, syslog, text"`
	RFC3164      bool          `long:"rfc3164" description:"syslog: the BSD format (RFC 3164) instead of RFC 5424"`
	HTTPBody     string        `long:"http-body" value-name:"KIND" description:"http outputs: json, slack, teams, hec, bulk"`
	Index        string        `long:"index" value-name:"NAME" description:"_bulk index (default nfr-alerts)"`
	CAFile       string        `long:"ca-file" value-name:"FILE" description:"verify the TLS server with this CA bundle"`
	CertFile     string        `long:"cert-file" value-name:"FILE" description:"TLS client certificate"`
	KeyFile      string        `long:"key-file" value-name:"FILE" description:"TLS client key"`
	TokenFile    string        `long:"token-file" value-name:"FILE" description:"HEC token or API key, read from FILE"`
	TokenEnv     string        `long:"token-env" value-name:"VAR" description:"HEC token or API key, read from $VAR"`
	MinSeverity  int           `short:"s" long:"min-severity" value-name:"N" description:"-o outputs: only alerts of severity N (1-5) or more"`
	Queue        string        `short:"q" long:"queue" value-name:"DIR" description:"queue directory (overrides alerts.queue)"`
	Sensor       string        `long:"sensor" value-name:"NAME" description:"sensor name added to alerts without one (overrides sensor:)"`
	Wait         time.Duration `long:"wait" value-name:"DURATION" default:"30s" description:"at the end of input, wait this long for receivers to take queued alerts"`
	Quiet        bool          `long:"no-pass" description:"do not pass alerts through to stdout"`
	LineBuffered bool          `long:"line-buffered" description:"flush every line (the default on a terminal)"`
	Stats        bool          `long:"stats" description:"print per-output delivered, queued and failed counts at the end"`
	Kafka        string        `long:"kafka" value-name:"BROKERS" description:"read the alerts topic in a consumer group (host:port,... overrides alerts.kafka.brokers) instead of files, until SIGINT or SIGTERM"`
	Group        string        `long:"group" value-name:"NAME" description:"--kafka: the consumer group (overrides alerts.kafka.group)"`
}

func main() { os.Exit(run()) }

func run() int {
	signal.Ignore(syscall.SIGHUP, syscall.SIGUSR1)
	// Little lives long here but the queues: collect less often, for
	// speed, unless the user set GOGC.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ui := cli.New("nfr-alert", os.Stderr)
	var o options
	files, done, code := ui.Parse(&o, "[OPTIONS] [FILE...]", os.Args[1:], os.Stdout)
	if done {
		return code
	}
	conf, err := config.Find(o.Config)
	if err != nil {
		ui.Errorf("%v", err)
		return cli.ExitUsage
	}
	kafka := o.Kafka != "" || o.Group != ""
	if kafka && len(files) > 0 {
		return ui.Usagef("--kafka reads the alerts topic: no FILE")
	}
	if kafka && o.Kafka == "" && len(conf.Alerts.Kafka.Brokers) == 0 {
		return ui.Usagef("--group needs Kafka: set alerts.kafka.brokers in %s or use --kafka HOST:PORT,...", conf.Path)
	}
	outs, code := outputs(ui, &o, conf)
	if outs == nil {
		return code
	}
	f := &alert.Filter{Outputs: outs, Sensor: conf.SensorName(), Warn: func(m string) { ui.Warnf("%s", m) }}
	if o.Sensor != "" {
		f.Sensor = o.Sensor
	}
	var out *event.Writer
	if !o.Quiet && !toStdout(outs) {
		out = event.NewWriter(os.Stdout, o.LineBuffered || cli.IsTerminal(os.Stdout))
		f.Out = out
	}
	if err := f.Start(); err != nil {
		ui.Errorf("%v", err)
		return cli.ExitFailure
	}
	watchSignals(ui, f)
	if kafka {
		code = runKafka(ui, conf, &o, f)
	} else {
		code, _ = ui.ReadFiles(files, f.Run)
	}
	if out != nil {
		if err := out.Close(); err != nil {
			ui.Errorf("writing alerts: %v", err)
			code = cli.ExitFailure
		}
	}
	if q := f.Drain(o.Wait); q > 0 {
		ui.Warnf("%d alerts still queued after --wait %s: they are kept and delivered on the next run", q, o.Wait)
	}
	failed := int64(0)
	for _, s := range f.Stats() {
		failed += s.Failed
		if o.Stats {
			ui.Infof("%s", s)
		}
	}
	if f.Skipped > 0 {
		ui.Summary()
		ui.Warnf("%d bad lines skipped", f.Skipped)
	}
	if failed > 0 {
		ui.Errorf("%d alerts refused by a receiver (see rejected.log in the queue directory)", failed)
		code = cli.ExitFailure
	}
	return code
}

// outputs builds the outputs from -o, else from config.yml; nil means
// exit with code.
func outputs(ui *cli.UI, o *options, conf *config.Config) ([]*alert.Output, int) {
	if o.Queue != "" {
		conf.Alerts.Queue = o.Queue
	}
	if len(o.Output) == 0 {
		if o.Format != "" || o.HTTPBody != "" {
			return nil, ui.Usagef("-f and --http-body go with -o")
		}
		outs, err := alert.OutputsFrom(&conf.Alerts, conf.SensorName(), cli.Version)
		if err != nil {
			ui.Errorf("%s: %v", conf.Path, err)
			return nil, cli.ExitUsage
		}
		if len(outs) == 0 {
			ui.Errorf("no outputs: alerts.outputs is empty")
			ui.Hintf("run: nfr-alert -o syslog+tcp://HOST:514 -f cef, or add alerts.outputs to config.yml")
			return nil, cli.ExitUsage
		}
		return outs, 0
	}
	var outs []*alert.Output
	for _, u := range o.Output {
		oc := config.AlertOutput{URL: u, Format: o.Format, RFC3164: o.RFC3164, Body: o.HTTPBody, Index: o.Index,
			CAFile: o.CAFile, CertFile: o.CertFile, KeyFile: o.KeyFile, TokenFile: o.TokenFile, TokenEnv: o.TokenEnv,
			MinSeverity: o.MinSeverity}
		out, err := alert.CommandLine(oc, &conf.Alerts, conf.SensorName(), cli.Version)
		if err != nil {
			return nil, ui.Usagef("-o %v", err)
		}
		if alert.Scheme(u) == "stdout" && out.Format.Name == "text" {
			out.Format.Color = cli.IsTerminal(os.Stdout)
		}
		outs = append(outs, out)
	}
	return outs, 0
}

func toStdout(outs []*alert.Output) bool {
	for _, o := range outs {
		if alert.Scheme(o.Dest.URL) == "stdout" {
			return true
		}
	}
	return false
}

// watchSignals: SIGHUP reopens file outputs (logrotate), SIGUSR1 prints
// the counters. On the first SIGINT or SIGTERM nfr-alert keeps reading
// until its input ends (the source upstream is stopping and flushing;
// with --kafka it stops reading at once and commits what it queued); on
// the second it exits, and its queues keep what was not delivered.
func watchSignals(ui *cli.UI, f *alert.Filter) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		stops := 0
		for s := range ch {
			switch s {
			case syscall.SIGHUP:
				f.Reopen()
			case syscall.SIGUSR1:
				for _, st := range f.Stats() {
					ui.Infof("%s", st)
				}
			default:
				if stops++; stops == 2 {
					f.Drain(0)
					os.Exit(130)
				}
			}
		}
	}()
}
