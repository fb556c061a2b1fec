package config

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// KafkaPasswordEnv holds the SASL password when kafka.password is empty, so
// the secret need not sit in config.yml.
const KafkaPasswordEnv = "NFR_KAFKA_PASSWORD"

// Kafka configures the connection to a Kafka cluster and the topics NFR
// uses there: submit.kafka for sensors, engine.kafka for engines,
// alerts.kafka for nfr-alert reading the alerts topic.
type Kafka struct {
	Brokers     []string      `yaml:"brokers"`      // host:port of some brokers; empty: Kafka unused
	Topic       string        `yaml:"topic"`        // events topic
	AlertsTopic string        `yaml:"alerts_topic"` // alerts topic (engines)
	StateTopic  string        `yaml:"state_topic"`  // compacted detector-state changelog (engines)
	Group       string        `yaml:"group"`        // consumer group (of the engines, or of nfr-alert)
	Partitions  int           `yaml:"partitions"`   // partitions of topics created when absent
	Replication int           `yaml:"replication"`  // replicas of topics created; -1: the brokers' default
	Retention   time.Duration `yaml:"retention"`    // retention of events and alerts topics created ("168h"); 0: the brokers' default
	TLS         bool          `yaml:"tls"`          // connect with TLS, verifying the brokers
	CA          string        `yaml:"ca"`           // PEM CA bundle; empty: system roots
	SASL        string        `yaml:"sasl"`         // "", plain, scram-sha-256 or scram-sha-512
	User        string        `yaml:"user"`         // SASL user
	Password    string        `yaml:"password"`     // SASL password; prefer $NFR_KAFKA_PASSWORD
}

func (k *Kafka) setDefaults() {
	*k = Kafka{
		Topic:       "nfr-events",
		AlertsTopic: "nfr-alerts",
		StateTopic:  "nfr-engine-state",
		Group:       "nfr-engine",
		Partitions:  12,
		Replication: -1,
	}
}

// Secret returns the SASL password: kafka.password, else $NFR_KAFKA_PASSWORD.
func (k *Kafka) Secret() string {
	if k.Password != "" {
		return k.Password
	}
	return os.Getenv(KafkaPasswordEnv)
}

func (k *Kafka) validate(section string) error {
	for _, b := range k.Brokers {
		if !strings.Contains(b, ":") {
			return fmt.Errorf("%s.kafka.brokers: %q is not host:port", section, b)
		}
	}
	switch {
	case k.Topic == "" || k.AlertsTopic == "" || k.StateTopic == "":
		return fmt.Errorf("%s.kafka: topic, alerts_topic and state_topic must not be empty", section)
	case k.Group == "":
		return fmt.Errorf("%s.kafka.group: must not be empty", section)
	case k.Partitions < 1:
		return fmt.Errorf("%s.kafka.partitions: %d is below 1", section, k.Partitions)
	case k.Replication == 0 || k.Replication < -1:
		return fmt.Errorf("%s.kafka.replication: %d is not -1 or a positive count", section, k.Replication)
	}
	switch k.SASL {
	case "":
	case "plain", "scram-sha-256", "scram-sha-512":
		if k.User == "" {
			return fmt.Errorf("%s.kafka.sasl: %s needs kafka.user", section, k.SASL)
		}
	default:
		return fmt.Errorf("%s.kafka.sasl: %q is not plain, scram-sha-256 or scram-sha-512", section, k.SASL)
	}
	if k.Retention < 0 {
		return fmt.Errorf("%s.kafka.retention: must not be negative", section)
	}
	return nil
}
