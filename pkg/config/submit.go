package config

import (
	"fmt"
	"time"
)

// Submit configures nfr-submit: the spool, batching, retries and alert
// polling. Durations are Go durations ("5s", "250ms", "1m").
type Submit struct {
	Spool        string        `yaml:"spool"`          // spool directory
	SpoolLimitMB int64         `yaml:"spool_limit_mb"` // stop reading input above this
	Fsync        string        `yaml:"fsync"`          // always, batch or never
	BatchEvents  int           `yaml:"batch_events"`   // events per batch at most
	BatchBytes   int64         `yaml:"batch_bytes"`    // body bytes per batch at most
	BatchAge     time.Duration `yaml:"batch_age"`      // oldest event waits at most this long
	Gzip         bool          `yaml:"gzip"`           // gzip request bodies
	Connections  int           `yaml:"connections"`    // batches in flight at once
	Timeout      time.Duration `yaml:"timeout"`        // per request
	RetryMin     time.Duration `yaml:"retry_min"`      // first retry delay
	RetryMax     time.Duration `yaml:"retry_max"`      // longest retry delay
	PollInterval time.Duration `yaml:"poll_interval"`  // alert polling
	Cursor       string        `yaml:"cursor"`         // alert cursor file; default SPOOL/alerts.follow
	Kafka        Kafka         `yaml:"kafka"`          // send to Kafka instead of the API when brokers are set
}

// Fsync policies of the spool.
const (
	FsyncAlways = "always" // every write of input to the spool is fsynced
	FsyncBatch  = "batch"  // a batch is fsynced when it is closed, before it is sent
	FsyncNever  = "never"  // left to the kernel: survives a killed process, not a power cut
)

func (s *Submit) setDefaults() {
	s.Spool = "/var/lib/nfr/spool"
	s.SpoolLimitMB = 1024
	s.Fsync = FsyncBatch
	s.BatchEvents = 5000
	s.BatchBytes = 1 << 20
	s.BatchAge = 5 * time.Second
	s.Connections = 2
	s.Timeout = 30 * time.Second
	s.RetryMin = time.Second
	s.RetryMax = time.Minute
	s.PollInterval = time.Minute
	s.Kafka.setDefaults()
}

func (s *Submit) validate() error {
	switch {
	case s.Spool == "":
		return fmt.Errorf("submit.spool: must name a directory")
	case s.SpoolLimitMB < 1:
		return fmt.Errorf("submit.spool_limit_mb: %d is below 1", s.SpoolLimitMB)
	case s.Fsync != FsyncAlways && s.Fsync != FsyncBatch && s.Fsync != FsyncNever:
		return fmt.Errorf("submit.fsync: %q is not always, batch or never", s.Fsync)
	case s.BatchEvents < 1:
		return fmt.Errorf("submit.batch_events: %d is below 1", s.BatchEvents)
	case s.BatchBytes < 1024:
		return fmt.Errorf("submit.batch_bytes: %d is below 1024", s.BatchBytes)
	case s.BatchAge <= 0:
		return fmt.Errorf("submit.batch_age: must be positive")
	case s.Connections < 1 || s.Connections > 64:
		return fmt.Errorf("submit.connections: %d is not between 1 and 64", s.Connections)
	case s.Timeout <= 0:
		return fmt.Errorf("submit.timeout: must be positive")
	case s.RetryMin <= 0 || s.RetryMax < s.RetryMin:
		return fmt.Errorf("submit.retry_min and retry_max: need 0 < retry_min <= retry_max")
	case s.PollInterval <= 0:
		return fmt.Errorf("submit.poll_interval: must be positive")
	}
	return s.Kafka.validate("submit")
}

func (s *Submit) paths() []*string { return []*string{&s.Spool, &s.Cursor, &s.Kafka.CA} }
