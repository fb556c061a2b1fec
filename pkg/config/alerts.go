package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Alerts says where the nfr wrapper writes alerts, and where nfr-alert
// delivers them (Outputs).
type Alerts struct {
	File   string `yaml:"file"`   // stderr (default), stdout, or a file name
	Format string `yaml:"format"` // json (the only format)

	// nfr-alert: the outputs, and their queues under Queue/NAME.
	Outputs      []AlertOutput `yaml:"outputs"`
	Queue        string        `yaml:"queue"`          // default /var/lib/nfr/alerts (root) or ~/.local/state/nfr/alerts
	QueueLimitMB int           `yaml:"queue_limit_mb"` // per output; input waits above it
	Fsync        string        `yaml:"fsync"`          // always, batch, never
	Facility     string        `yaml:"facility"`       // syslog facility name
	MaxBackoff   string        `yaml:"max_backoff"`    // longest wait between retries
	// nfr-alert --kafka: read alerts_topic in this consumer group instead
	// of files or stdin.
	Kafka Kafka `yaml:"kafka"`
}

// AlertOutput is one nfr-alert destination.
type AlertOutput struct {
	Name        string `yaml:"name"`
	URL         string `yaml:"url"`
	Format      string `yaml:"format"`
	RFC3164     bool   `yaml:"rfc3164"`
	Body        string `yaml:"body"` // http: json, slack, teams, hec, bulk
	Index       string `yaml:"index"`
	CAFile      string `yaml:"ca_file"`
	CertFile    string `yaml:"cert_file"`
	KeyFile     string `yaml:"key_file"`
	TokenFile   string `yaml:"token_file"`
	TokenEnv    string `yaml:"token_env"`
	MinSeverity int    `yaml:"min_severity"`
	Threats     struct {
		Include []string `yaml:"include"`
		Exclude []string `yaml:"exclude"`
	} `yaml:"threats"`
	Groups []string `yaml:"groups"`
	Policy *bool    `yaml:"policy"`
}

func (a *Alerts) setDefaults() {
	a.File, a.Format = "stderr", "json"
	a.QueueLimitMB, a.Fsync, a.Facility, a.MaxBackoff = 256, "batch", "local0", "30s"
	a.Kafka.setDefaults()
	// Its own group: the engines' group commits events offsets, this one
	// the alerts delivered.
	a.Kafka.Group = "nfr-alert"
}

// Facilities are the syslog facility names, by number.
var Facilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

// FacilityNumber returns the number of a syslog facility name, or -1.
func FacilityNumber(name string) int {
	for i, f := range Facilities {
		if f == name {
			return i
		}
	}
	return -1
}

func (a *Alerts) validate() error {
	if a.Format != "json" {
		return fmt.Errorf("alerts.format: %q is not supported (json)", a.Format)
	}
	if FacilityNumber(a.Facility) < 0 {
		return fmt.Errorf("alerts.facility: %q is not a syslog facility (local0 ... local7, auth, ...)", a.Facility)
	}
	switch a.Fsync {
	case "always", "batch", "never":
	default:
		return fmt.Errorf("alerts.fsync: %q is not always, batch or never", a.Fsync)
	}
	if a.QueueLimitMB <= 0 {
		return fmt.Errorf("alerts.queue_limit_mb: must be positive")
	}
	if _, err := time.ParseDuration(a.MaxBackoff); err != nil {
		return fmt.Errorf("alerts.max_backoff: %v", err)
	}
	names := map[string]bool{}
	for i, o := range a.Outputs {
		if o.URL == "" {
			return fmt.Errorf("alerts.outputs[%d]: url is missing", i)
		}
		if o.Name != "" && names[o.Name] {
			return fmt.Errorf("alerts.outputs[%d]: name %q used twice", i, o.Name)
		}
		names[o.Name] = true
		if o.MinSeverity < 0 || o.MinSeverity > 5 {
			return fmt.Errorf("alerts.outputs[%d].min_severity: %d is not 0-5", i, o.MinSeverity)
		}
	}
	return a.Kafka.validate("alerts")
}

// DefaultAlertQueue is where nfr-alert keeps its queues when alerts.queue
// is empty: /var/lib/nfr/alerts for root, else under the user's state
// directory.
func DefaultAlertQueue() string {
	if os.Geteuid() == 0 {
		return "/var/lib/nfr/alerts"
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "nfr", "alerts")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "state", "nfr", "alerts")
}

func (a *Alerts) paths() []*string {
	ps := []*string{&a.File, &a.Queue, &a.Kafka.CA}
	for i := range a.Outputs {
		o := &a.Outputs[i]
		ps = append(ps, &o.CAFile, &o.CertFile, &o.KeyFile, &o.TokenFile)
	}
	return ps
}

// SensorName is the sensor's name: sensor from config.yml, else the host
// name.
func (c *Config) SensorName() string {
	if c.Sensor != "" {
		return c.Sensor
	}
	h, _ := os.Hostname()
	return h
}

// resolveFileURLs makes a relative file:PATH output relative to dir, like
// the other file names in config.yml.
func (a *Alerts) resolveFileURLs(dir string) {
	for i := range a.Outputs {
		u := &a.Outputs[i].URL
		if p, ok := strings.CutPrefix(*u, "file:"); ok && p != "" && !filepath.IsAbs(p) && !strings.HasPrefix(p, "//") {
			*u = "file:" + filepath.Join(dir, p)
		}
	}
}
