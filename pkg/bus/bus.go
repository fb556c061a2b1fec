// Package bus connects NFR to Kafka: sensors (nfr-submit) produce events to
// an events topic keyed by source address, and engines (nfr-engine --kafka)
// consume it in a group, score each partition with its own detector state
// and produce alerts in the transaction that commits the consumed offsets;
// nfr-alert reads the alerts topic in a group of its own (AlertReader).
// It is the only package that knows the Kafka client (franz-go).
//
// Records: an event record's key is the event's srcIP (so one host's events
// stay in one partition, in order) and its value one NDJSON event line; an
// alert record is keyed the same way and holds one alert line. A state
// record (the compacted changelog) is keyed by the events partition it
// belongs to and holds the partition's next offset and the engine's saved
// state (score.Engine.SaveState).
package bus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/nfr-project/nfr/pkg/config"
)

// maxRecordBytes bounds one state record; the state topic is created to
// take it.
const maxRecordBytes = 64 << 20

// clientOptions turns the connection part of k (brokers, TLS, SASL) into
// client options. The SASL password comes from k.Secret, never a flag.
func clientOptions(k *config.Kafka, clientID string) ([]kgo.Opt, error) {
	if len(k.Brokers) == 0 {
		return nil, errors.New("no Kafka brokers: set kafka.brokers or use --kafka HOST:PORT,...")
	}
	opts := []kgo.Opt{kgo.SeedBrokers(k.Brokers...), kgo.ClientID(clientID)}
	if k.TLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if k.CA != "" {
			pem, err := os.ReadFile(k.CA)
			if err != nil {
				return nil, fmt.Errorf("kafka.ca: %v", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kafka.ca: %s holds no PEM certificate", k.CA)
			}
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	switch k.SASL {
	case "plain":
		opts = append(opts, kgo.SASL(plain.Auth{User: k.User, Pass: k.Secret()}.AsMechanism()))
	case "scram-sha-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: k.User, Pass: k.Secret()}.AsSha256Mechanism()))
	case "scram-sha-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: k.User, Pass: k.Secret()}.AsSha512Mechanism()))
	}
	return opts, nil
}

// topicSpec is a topic to create when absent.
type topicSpec struct {
	name    string
	compact bool
}

// ensureTopics creates the topics that do not exist yet, with k's
// partitions and replication; a compacted topic keeps the latest record of
// each key. A topic created meanwhile by another process is fine.
func ensureTopics(ctx context.Context, cl *kgo.Client, k *config.Kafka, topics ...topicSpec) error {
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	names := make([]string, len(topics))
	for i, t := range topics {
		names[i] = t.name
	}
	have, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("listing topics: %v", err)
	}
	var created []string
	for _, t := range topics {
		if d, ok := have[t.name]; ok && d.Err == nil {
			continue
		}
		conf := map[string]*string{}
		if t.compact {
			conf["cleanup.policy"] = kadm.StringPtr("compact")
			conf["max.message.bytes"] = kadm.StringPtr(strconv.Itoa(maxRecordBytes))
		} else if k.Retention > 0 {
			conf["retention.ms"] = kadm.StringPtr(strconv.FormatInt(k.Retention.Milliseconds(), 10))
		}
		_, err := adm.CreateTopic(ctx, int32(k.Partitions), int16(k.Replication), conf, t.name)
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("creating topic %s: %v", t.name, err)
		}
		created = append(created, t.name)
	}
	// Wait until every broker's metadata has the new topics' leaders, so
	// the first offsets listed are there.
	for len(created) > 0 {
		have, err := adm.ListTopics(ctx, created...)
		if err == nil && len(have) == len(created) {
			ready := true
			for _, d := range have {
				ready = ready && d.Err == nil && len(d.Partitions) > 0
				for _, p := range d.Partitions {
					ready = ready && p.Leader >= 0 && p.Err == nil
				}
			}
			if ready {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topics %s created but not ready: %v", strings.Join(created, ", "), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}
