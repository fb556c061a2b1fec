package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/nfr-project/nfr/pkg/account"
	"github.com/nfr-project/nfr/pkg/bus"
	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/score"
)

// runKafka is nfr-engine --kafka: one member of the engine group, until
// SIGINT or SIGTERM. The batch in hand then is finished and its
// transaction committed before the member leaves the group.
func runKafka(ui *cli.UI, cfg *config.Config, k config.Kafka, id string) int {
	if len(k.Brokers) == 0 {
		return ui.Usagef("--id needs Kafka: set engine.kafka.brokers in %s or use --kafka HOST:PORT,...", cfg.Path)
	}
	if id == "" {
		h, err := os.Hostname()
		if err != nil {
			return ui.Usagef("no host name: name this member with --id NAME")
		}
		id = h
	}
	if msg := account.ExposedConfig(cfg.Path); msg != "" && k.Password != "" {
		ui.Warnf("%s", msg)
		ui.Hintf("run: chmod 600 %s, or set $%s instead of engine.kafka.password", cfg.Path, config.KafkaPasswordEnv)
	}
	scfg, err := score.ConfigFrom(&cfg.Score)
	if err != nil {
		ui.Errorf("%s: score: %v", cfg.Path, err)
		return cli.ExitUsage
	}
	scfg.Feeds, err = score.LoadFeeds(&cfg.Score, nil, func(string) {}, func(s string) { ui.Warnf("%s", s) })
	if err != nil {
		ui.Errorf("%s: score: %v", cfg.Path, err)
		return cli.ExitUsage
	}
	e := &bus.Engine{Kafka: k, ID: id,
		New:  func() (*score.Engine, error) { return score.New(scfg) },
		Warn: func(s string) { ui.Warnf("%s", s) }}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ui.Infof("member %s of group %s: scoring %s into %s (state in %s)", id, k.Group, k.Topic, k.AlertsTopic, k.StateTopic)
	err = e.Run(ctx)
	st := e.Stats()
	ui.Infof("%d events scored, %d alerts, %d skipped; %d partitions restored (%d events replayed), %d checkpoints, %d transactions aborted, %d consumer rewinds skipped",
		st.Events, st.Alerts, st.Bad, st.Restores, st.Replayed, st.Checkpoints, st.Aborted, st.Rewinds)
	if err != nil {
		ui.Errorf("%v", err)
		return cli.ExitFailure
	}
	return cli.ExitOK
}
