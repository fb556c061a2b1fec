package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Listener says where and how to serve.
type Listener struct {
	Addr              string // host:port; port 0 picks a free one
	CertFile, KeyFile string // both set: serve HTTPS
	// ShutdownTimeout bounds how long in-flight requests may take to
	// finish after ctx is done; 30s when zero.
	ShutdownTimeout time.Duration
	// Ready, if set, is called with the URL served once the socket listens.
	Ready func(url string)
}

// Serve runs the worker and serves HTTP(S) until ctx is done, then stops
// taking connections, lets the requests in flight finish (answered, their
// batches committed), flushes every scorer and returns.
func (s *Server) Serve(ctx context.Context, l Listener) error {
	if (l.CertFile == "") != (l.KeyFile == "") {
		return errors.New("TLS needs both a certificate and a key")
	}
	var tlsCfg *tls.Config
	if l.CertFile != "" {
		// Loaded here, so a bad file is an error before listening.
		cr := &certReloader{certFile: l.CertFile, keyFile: l.KeyFile, notice: s.notice}
		if err := cr.load(); err != nil {
			return fmt.Errorf("TLS certificate: %w", err)
		}
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cr.get}
	}
	ln, err := net.Listen("tcp", l.Addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           s,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// Connection-level errors (TLS handshakes, bad requests) are the
		// clients' problems: logged with the requests, with --verbose.
		ErrorLog: log.New(logWriter{s.cfg.Log}, "", 0),
	}
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run() }()
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
		ln = tls.NewListener(ln, tlsCfg)
	}
	if l.Ready != nil {
		l.Ready(scheme + "://" + ln.Addr().String())
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	var err1 error
	select {
	case <-ctx.Done():
		timeout := l.ShutdownTimeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		sctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			err1 = fmt.Errorf("shutdown: %w", err)
			hs.Close()
		}
		<-serveErr
	case err := <-serveErr:
		err1 = err
	}
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Close(cctx); err != nil && err1 == nil {
		err1 = err
	}
	if err := <-runErr; err != nil && err1 == nil {
		err1 = fmt.Errorf("storing the scorers' last alerts: %w", err)
	}
	return err1
}

type logWriter struct{ log func(string, ...any) }

func (w logWriter) Write(b []byte) (int, error) {
	if w.log != nil {
		w.log("%s", strings.TrimRight(string(b), "\n"))
	}
	return len(b), nil
}

// certReloader serves the certificate in its files, reloading them when
// they change, so a renewed certificate (certbot, cert-manager) is used
// without a restart. A renewal that fails to load keeps the old one.
type certReloader struct {
	certFile, keyFile string
	notice            func(string, ...any)

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
	checked time.Time
}

func (c *certReloader) stamp() time.Time {
	var t time.Time
	for _, f := range []string{c.certFile, c.keyFile} {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(t) {
			t = st.ModTime()
		}
	}
	return t
}

func (c *certReloader) load() error {
	stamp := c.stamp()
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	c.cert, c.modTime = &cert, stamp
	return nil
}

func (c *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) >= time.Second {
		c.checked = now
		if c.stamp().After(c.modTime) {
			old := c.cert
			if err := c.load(); err != nil {
				c.notice("error: reloading TLS certificate %s: %v (still serving the old one)", c.certFile, err)
				c.cert, c.modTime = old, c.stamp()
			} else {
				c.notice("reloaded TLS certificate %s", c.certFile)
			}
		}
	}
	return c.cert, nil
}
