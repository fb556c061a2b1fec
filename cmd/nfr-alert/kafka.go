package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/nfr-project/nfr/pkg/account"
	"github.com/nfr-project/nfr/pkg/alert"
	"github.com/nfr-project/nfr/pkg/bus"
	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/config"
)

// runKafka is nfr-alert --kafka: alerts read from the alerts topic until
// SIGINT or SIGTERM, each polled batch committed once it is in the queues
// on disk. The caller drains the queues afterwards, as at the end of a
// file.
func runKafka(ui *cli.UI, conf *config.Config, o *options, f *alert.Filter) int {
	k := conf.Alerts.Kafka
	if o.Kafka != "" {
		k.Brokers = strings.Split(o.Kafka, ",")
	}
	if o.Group != "" {
		k.Group = o.Group
	}
	if msg := account.ExposedConfig(conf.Path); msg != "" && k.Password != "" {
		ui.Warnf("%s", msg)
		ui.Hintf("run: chmod 600 %s, or set $%s instead of alerts.kafka.password", conf.Path, config.KafkaPasswordEnv)
	}
	id, _ := os.Hostname()
	r := &bus.AlertReader{Kafka: k, ID: id,
		Accept: func(lines [][]byte) error { return f.Accept(lines, k.AlertsTopic) },
		Warn:   func(s string) { ui.Warnf("%s", s) }}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ui.Infof("reading %s in group %s", k.AlertsTopic, k.Group)
	err := r.Run(ctx)
	st := r.Stats()
	ui.Infof("%d alerts read from %s, %d committed", st.Records, k.AlertsTopic, st.Committed)
	if err != nil {
		ui.Errorf("%v", err)
		return cli.ExitFailure
	}
	return cli.ExitOK
}
