package config

import (
	"fmt"
	"net"
	"time"
)

// Engine configures nfr-engine, the analytics API server.
type Engine struct {
	Listen      string `yaml:"listen"`       // default 127.0.0.1:8080
	DB          string `yaml:"db"`           // SQLite database file
	TLSCert     string `yaml:"tls_cert"`     // PEM certificate (chain); with tls_key: HTTPS
	TLSKey      string `yaml:"tls_key"`      // PEM private key
	Sync        string `yaml:"sync"`         // full or normal
	MaxBodyMB   int    `yaml:"max_body_mb"`  // largest request body, decompressed
	Queue       int    `yaml:"queue"`        // batches waiting before 429
	AlertsPage  int    `yaml:"alerts_page"`  // alerts per /v1/alerts answer
	KeyRequests *bool  `yaml:"key_requests"` // POST /v1/key/request gives keys; unset: only on loopback
	// MaxTenants caps the tenants key requests may create (administrators'
	// keys add is not capped).
	MaxTenants int `yaml:"max_tenants"`
	// KeyRequestsPerHour is how many keys one client address may request
	// an hour.
	KeyRequestsPerHour int    `yaml:"key_requests_per_hour"`
	BatchRetention     string `yaml:"batch_retention"` // how long batch ids are kept for replays
	AlertRetention     string `yaml:"alert_retention"` // how long alerts are kept; 0 is for ever
	DeliverAlerts      bool   `yaml:"deliver_alerts"`  // deliver stored alerts to alerts.outputs, as nfr-alert does
	Kafka              Kafka  `yaml:"kafka"`           // nfr-engine --kafka: consumer group, topics
}

func (e *Engine) setDefaults() {
	*e = Engine{
		Listen:             "127.0.0.1:8080",
		DB:                 "/var/lib/nfr/engine.db",
		Sync:               "full",
		MaxBodyMB:          16,
		Queue:              64,
		AlertsPage:         100,
		MaxTenants:         1000,
		KeyRequestsPerHour: 10,
		BatchRetention:     "720h",
		AlertRetention:     "0",
	}
	e.Kafka.setDefaults()
}

func (e *Engine) validate() error {
	if _, _, err := net.SplitHostPort(e.Listen); err != nil {
		return fmt.Errorf("engine.listen: %q is not HOST:PORT", e.Listen)
	}
	if e.DB == "" {
		return fmt.Errorf("engine.db: empty")
	}
	if (e.TLSCert == "") != (e.TLSKey == "") {
		return fmt.Errorf("engine.tls_cert and engine.tls_key go together")
	}
	if e.Sync != "full" && e.Sync != "normal" {
		return fmt.Errorf("engine.sync: %q is neither full nor normal", e.Sync)
	}
	for _, v := range []struct {
		name      string
		n, lo, hi int
	}{
		{"max_body_mb", e.MaxBodyMB, 1, 1024},
		{"queue", e.Queue, 1, 100000},
		{"alerts_page", e.AlertsPage, 1, 10000},
		{"max_tenants", e.MaxTenants, 1, 1000000},
		{"key_requests_per_hour", e.KeyRequestsPerHour, 1, 100000},
	} {
		if v.n < v.lo || v.n > v.hi {
			return fmt.Errorf("engine.%s: %d is not in %d..%d", v.name, v.n, v.lo, v.hi)
		}
	}
	if d, err := time.ParseDuration(e.BatchRetention); err != nil || d <= 0 {
		return fmt.Errorf("engine.batch_retention: %q is not a positive duration such as 720h", e.BatchRetention)
	}
	if d, err := time.ParseDuration(e.AlertRetention); err != nil || d < 0 {
		return fmt.Errorf("engine.alert_retention: %q is not a duration such as 2160h (0 keeps alerts for ever)", e.AlertRetention)
	}
	return e.Kafka.validate("engine")
}

// Retention returns batch_retention and alert_retention parsed (validated
// already).
func (e *Engine) Retention() (batches, alerts time.Duration) {
	batches, _ = time.ParseDuration(e.BatchRetention)
	alerts, _ = time.ParseDuration(e.AlertRetention)
	return batches, alerts
}

// KeyRequestsOn tells whether POST /v1/key/request hands out keys: as
// key_requests says, or when it is unset only if Listen is a loopback
// address, so an engine reachable by strangers does not give them tenants.
func (e *Engine) KeyRequestsOn() bool {
	if e.KeyRequests != nil {
		return *e.KeyRequests
	}
	return IsLoopback(e.Listen)
}

// IsLoopback tells whether the HOST:PORT address only listens on loopback
// (an empty host or 0.0.0.0 listens everywhere).
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (e *Engine) paths() []*string { return []*string{&e.DB, &e.TLSCert, &e.TLSKey, &e.Kafka.CA} }
