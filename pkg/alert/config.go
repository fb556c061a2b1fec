package alert

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/config"
)

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// NameOf derives an output's name (its queue directory) from its URL.
func NameOf(url string) string {
	n := strings.Trim(unsafeName.ReplaceAllString(url, "_"), "_.")
	if len(n) > 64 {
		n = n[:64]
	}
	if n == "" {
		n = "output"
	}
	return n
}

// OutputsFrom builds the outputs of config.yml's alerts block. version
// goes in CEF and LEEF headers; sensor is the default syslog host.
func OutputsFrom(c *config.Alerts, sensor, version string) ([]*Output, error) {
	queue := c.Queue
	if queue == "" {
		queue = config.DefaultAlertQueue()
	}
	backoff, _ := time.ParseDuration(c.MaxBackoff)
	var outs []*Output
	for i, oc := range c.Outputs {
		o, err := outputFrom(oc, c, queue, sensor, version, backoff)
		if err != nil {
			return nil, fmt.Errorf("alerts.outputs[%d]: %w", i, err)
		}
		outs = append(outs, o)
	}
	return outs, nil
}

func outputFrom(oc config.AlertOutput, c *config.Alerts, queue, sensor, version string, backoff time.Duration) (*Output, error) {
	name := oc.Name
	if name == "" {
		name = NameOf(oc.URL)
	}
	format := oc.Format
	if format == "" {
		format = defaultFormat(oc.URL, oc.Body)
	}
	if err := CheckFormat(format); err != nil {
		return nil, err
	}
	token, err := readToken(oc.TokenFile, oc.TokenEnv)
	if err != nil {
		return nil, err
	}
	o := &Output{
		Name: name,
		Dest: Dest{URL: oc.URL, Body: oc.Body, CAFile: oc.CAFile, CertFile: oc.CertFile, KeyFile: oc.KeyFile,
			Token: token, Index: oc.Index},
		Format: Formatter{Name: format, Host: sensor, Version: version, Facility: config.FacilityNumber(c.Facility),
			RFC3164: oc.RFC3164, ProcID: fmt.Sprint(os.Getpid())},
		Route: Route{MinSeverity: oc.MinSeverity, Include: oc.Threats.Include, Exclude: oc.Threats.Exclude,
			Groups: oc.Groups, Policy: oc.Policy},
		QueueDir:   filepath.Join(queue, name),
		QueueLimit: int64(c.QueueLimitMB) << 20,
		Fsync:      c.Fsync,
		MaxBackoff: backoff,
	}
	if err := o.Dest.Check(); err != nil {
		return nil, err
	}
	return o, nil
}

// defaultFormat is the format an output gets when none is named: syslog
// for syslog, gelf for GELF, ecs for _bulk, json otherwise.
func defaultFormat(url, body string) string {
	s := Scheme(url)
	switch {
	case strings.HasPrefix(s, "syslog"):
		return "syslog"
	case strings.HasPrefix(s, "gelf"):
		return "gelf"
	case body == "bulk":
		return "ecs"
	case s == "stdout":
		return "text"
	}
	return "json"
}

// readToken reads a secret from a file (first line) or the environment,
// never from the command line.
func readToken(file, env string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		t, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimSpace(t), nil
	case env != "":
		t := os.Getenv(env)
		if t == "" {
			return "", fmt.Errorf("$%s is empty", env)
		}
		return t, nil
	}
	return "", nil
}

// CommandLine builds the output given on the command line, as config.yml
// would: o carries url, format and the rest.
func CommandLine(oc config.AlertOutput, c *config.Alerts, sensor, version string) (*Output, error) {
	queue := c.Queue
	if queue == "" {
		queue = config.DefaultAlertQueue()
	}
	backoff, _ := time.ParseDuration(c.MaxBackoff)
	return outputFrom(oc, c, queue, sensor, version, backoff)
}
