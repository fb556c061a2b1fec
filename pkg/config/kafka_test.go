package config

import (
	"strings"
	"testing"
)

func TestKafka(t *testing.T) {
	for _, tc := range []struct{ yml, err string }{
		{"submit:\n  kafka:\n    brokers: [k1:9092, k2:9092]\n    sasl: scram-sha-512\n    user: nfr\n", ""},
		{"engine:\n  kafka:\n    brokers: [k1:9092]\n    partitions: 24\n    replication: 3\n    retention: 168h\n", ""},
		{"submit:\n  kafka:\n    brokers: [k1]\n", "submit.kafka.brokers"},
		{"engine:\n  kafka:\n    partitions: 0\n", "engine.kafka.partitions"},
		{"engine:\n  kafka:\n    replication: 0\n", "engine.kafka.replication"},
		{"submit:\n  kafka:\n    sasl: scram-sha-1\n", "submit.kafka.sasl"},
		{"submit:\n  kafka:\n    sasl: plain\n", "needs kafka.user"},
		{"submit:\n  kafka:\n    topic: \"\"\n", "submit.kafka: topic"},
		{"submit:\n  kafka:\n    brokerz: [k1:9092]\n", "c.yml:3:"},
		{"alerts:\n  kafka:\n    brokers: [k1:9093]\n    tls: true\n    sasl: scram-sha-256\n    user: soc\n", ""},
		{"alerts:\n  kafka:\n    group: \"\"\n", "alerts.kafka.group"},
	} {
		c, err := Parse([]byte(tc.yml), "c.yml")
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.yml, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: got %v, want an error with %q", tc.yml, err, tc.err)
		case err == nil && c.Submit.Kafka.Topic != "nfr-events":
			t.Errorf("%q: default topic %q", tc.yml, c.Submit.Kafka.Topic)
		}
	}
	if g := Default().Alerts.Kafka.Group; g != "nfr-alert" {
		t.Errorf("alerts.kafka.group defaults to %q, want nfr-alert: the engines' group is another", g)
	}
	t.Setenv(KafkaPasswordEnv, "s3cret")
	k := Default().Submit.Kafka
	if k.Secret() != "s3cret" {
		t.Errorf("password from $%s: %q", KafkaPasswordEnv, k.Secret())
	}
}
