package alert

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// A Sender delivers formatted messages to one destination.
type Sender interface {
	// Send delivers msgs in order. It returns how many of them, from the
	// first, are settled (delivered, or refused for good and passed to
	// the Reject callback), and an error when it stopped before the end;
	// the caller retries the rest later with the same Sender.
	Send(msgs [][]byte) (settled int, err error)
	// Close ends the connection; a Send blocked on it returns.
	Close() error
}

// Dest says where and how an output delivers.
type Dest struct {
	URL string
	// Body of HTTP outputs: json, slack, teams, hec or bulk.
	Body string
	// TLS: CA bundle to verify the server with (default: the system's),
	// and an optional client certificate and key.
	CAFile, CertFile, KeyFile string
	// Token for HEC ("Splunk TOKEN") or Elasticsearch ("ApiKey TOKEN").
	Token string
	// Index for _bulk (default nfr-alerts).
	Index string
	// Window is how many RELP messages may wait for their answer (default 128).
	Window int
	// Timeout for connecting and for each write or answer (default 10s).
	Timeout time.Duration
	// Reject is told about each message a receiver refused for good.
	Reject func(msg []byte, why string)
	// Syslog says messages are syslog messages (the syslog schemes).
	scheme string
}

// Scheme returns the URL scheme ("file", "syslog+tcp", ...), or "" when the
// URL is not one nfr-alert knows.
func Scheme(u string) string {
	if u == "stdout" || u == "-" {
		return "stdout"
	}
	if strings.HasPrefix(u, "file:") {
		return "file"
	}
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	switch p.Scheme {
	case "syslog+udp", "syslog+tcp", "syslog+tls", "syslog+relp", "syslog", "gelf+udp", "gelf+tcp", "http", "https":
		return p.Scheme
	}
	return ""
}

// Check validates the destination without connecting.
func (d *Dest) Check() error {
	s := Scheme(d.URL)
	if s == "" {
		return fmt.Errorf("%q: not an output URL (file:PATH, syslog+udp://, syslog+tcp://, syslog+tls://, syslog+relp://, syslog:///dev/log, gelf+udp://, gelf+tcp://, http://, https://, stdout)", d.URL)
	}
	d.scheme = s
	if s == "file" || s == "stdout" {
		return nil
	}
	p, _ := url.Parse(d.URL)
	switch s {
	case "syslog":
		if p.Path == "" {
			return fmt.Errorf("%q: syslog:// needs a socket path, as in syslog:///dev/log", d.URL)
		}
	case "http", "https":
		switch d.Body {
		case "", "json", "slack", "teams", "hec", "bulk":
		default:
			return fmt.Errorf("%q: http body %q is not one of json, slack, teams, hec, bulk", d.URL, d.Body)
		}
	default:
		if p.Port() == "" {
			return fmt.Errorf("%q: no port", d.URL)
		}
	}
	return nil
}

// Dial returns a Sender for d; it connects lazily, on the first Send, so a
// receiver that is down at start is retried like one that went away.
func Dial(d Dest) (Sender, error) {
	if err := d.Check(); err != nil {
		return nil, err
	}
	if d.Timeout <= 0 {
		d.Timeout = 10 * time.Second
	}
	if d.Reject == nil {
		d.Reject = func([]byte, string) {}
	}
	switch d.scheme {
	case "stdout":
		return &writerSender{w: os.Stdout}, nil
	case "file":
		return openFileSender(strings.TrimPrefix(strings.TrimPrefix(d.URL, "file://"), "file:"))
	case "http", "https":
		return newHTTPSender(d)
	}
	p, _ := url.Parse(d.URL)
	switch d.scheme {
	case "syslog+udp":
		return &packetSender{network: "udp", addr: p.Host, d: d}, nil
	case "syslog":
		return &packetSender{network: "unixgram", addr: p.Path, d: d}, nil
	case "gelf+udp":
		return &packetSender{network: "udp", addr: p.Host, d: d, gelf: true}, nil
	case "syslog+tcp":
		return &streamSender{network: "tcp", addr: p.Host, d: d, frame: octetCount}, nil
	case "syslog+tls":
		tc, err := tlsConfig(d, p.Hostname())
		if err != nil {
			return nil, err
		}
		return &streamSender{network: "tcp", addr: p.Host, d: d, frame: octetCount, tls: tc}, nil
	case "gelf+tcp":
		return &streamSender{network: "tcp", addr: p.Host, d: d, frame: nullEnd}, nil
	case "syslog+relp":
		return &relpSender{addr: p.Host, d: d}, nil
	}
	return nil, errors.New("unreachable")
}

func tlsConfig(d Dest, host string) (*tls.Config, error) {
	c := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if d.CAFile != "" {
		pem, err := os.ReadFile(d.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", d.CAFile)
		}
		c.RootCAs = pool
	}
	if d.CertFile != "" || d.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(d.CertFile, d.KeyFile)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

func dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout(network, addr, timeout)
}
