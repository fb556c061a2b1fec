// Package submit is nfr-submit: it reads events into the spool, sends the
// spool's batches to the analytics API until each is accepted, and polls
// the API for alerts, writing them as alert events and keeping the alert
// cursor on disk so a restart neither repeats nor skips one.
package submit

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/spool"
)

// Types are the event types the API takes.
// ssh is NFR's extension (POST /v1/events/ssh); a server without it gets
// them as ip events.
var Types = map[string]bool{event.TypeDNS: true, event.TypeIP: true, event.TypeHTTP: true, event.TypeTLS: true, event.TypeSSH: true}

// Log receives messages for people; cli.UI satisfies it.
type Log interface {
	Warnf(format string, args ...any)
	Infof(format string, args ...any)
}

// KeyError is the fatal error of a key the server refuses.
type KeyError struct{ Err error }

func (e *KeyError) Error() string { return "the server refused the API key: " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// Destination takes spooled batches: the analytics API (*api.Client) or a
// Kafka topic (*bus.Producer). SendEvents returns once the batch is safely
// taken; errors are *api.Error, whose Temporary says whether to retry.
type Destination interface {
	SendEvents(ctx context.Context, typ, batchID string, body []byte, gzipped bool) (*api.EventsResponse, error)
}

// Sender moves events from input to the spool and from the spool to the
// server.
type Sender struct {
	Client      Destination
	Spool       *spool.Spool
	Log         Log
	Connections int
	Gzip        bool
	BatchAge    time.Duration
	RetryMin    time.Duration
	RetryMax    time.Duration

	mu        sync.Mutex
	splitOnce sync.Once
	stats     Stats
	failing   int // consecutive failed attempts, for one message per outage
	notTyped  map[string]int64
	sshAsIP   atomic.Bool // the server answered 404 to /v1/events/ssh
}

// Stats counts what happened to the events.
type Stats struct {
	Read            int64            // event lines read
	Skipped         int64            // lines that were not events
	Unsent          map[string]int64 // lines of types the API does not take, by type
	Batches         int64            // batches accepted
	Accepted        int64            // events the server accepted
	Rejected        map[string]int64 // events the server rejected, by reason
	RejectedBatches int64            // batches refused outright (kept in rejected/)
	Retries         int64
}

// Stats returns a copy of the counters.
func (s *Sender) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Unsent, st.Rejected = map[string]int64{}, map[string]int64{}
	for k, v := range s.notTyped {
		st.Unsent[k] = v
	}
	for k, v := range s.stats.Rejected {
		st.Rejected[k] = v
	}
	return st
}

// Read appends every event line of r to the spool until EOF. Lines that
// are not JSON objects are skipped and reported by warn with file:line.
// Before every read that may block, what was read is written to the spool,
// so an event counts as taken, and survives a kill, before more is read.
func (s *Sender) Read(r io.Reader, name string, warn func(string)) error {
	var spoolErr error
	var read int64
	hr := &flushReader{r: r, flush: func() error {
		s.mu.Lock()
		s.stats.Read += read // counted so far, for progress reports
		read = 0
		s.mu.Unlock()
		spoolErr = s.Spool.Flush()
		return spoolErr
	}}
	er := event.NewReader(hr, name)
	er.Warn = warn
	defer func() {
		s.mu.Lock()
		s.stats.Read += read
		s.stats.Skipped += er.Skipped()
		s.mu.Unlock()
	}()
	for {
		line, err := er.Next()
		if err == io.EOF {
			return s.Spool.Flush()
		}
		if err != nil {
			if spoolErr != nil {
				return spoolErr
			}
			return fmt.Errorf("%s: %v", name, err)
		}
		typ := lineType(line)
		if !Types[typ] {
			s.mu.Lock()
			if s.notTyped == nil {
				s.notTyped = map[string]int64{}
			}
			if typ == "" {
				typ = "(none)"
			}
			s.notTyped[typ]++
			s.mu.Unlock()
			continue
		}
		if err := s.Spool.Append(typ, line); err != nil {
			return err
		}
		read++
	}
}

// flushReader calls flush before each read of the underlying input, which
// is where reading may block.
type flushReader struct {
	r     io.Reader
	flush func() error
}

func (f *flushReader) Read(p []byte) (int, error) {
	if err := f.flush(); err != nil {
		return 0, err
	}
	return f.r.Read(p)
}

// lineType returns the "type" of an event line, fast for lines that begin
// with it as ours do.
func lineType(line []byte) string {
	const pfx = `{"type":"`
	if bytes.HasPrefix(line, []byte(pfx)) {
		rest := line[len(pfx):]
		if i := bytes.IndexByte(rest, '"'); i > 0 && i < 16 {
			switch string(rest[:i]) { // no allocation for these
			case event.TypeDNS:
				return event.TypeDNS
			case event.TypeIP:
				return event.TypeIP
			case event.TypeHTTP:
				return event.TypeHTTP
			case event.TypeTLS:
				return event.TypeTLS
			case event.TypeSSH:
				return event.TypeSSH
			case event.TypeAlert:
				return event.TypeAlert
			}
		}
	}
	var v struct {
		Type string `json:"type"`
	}
	json.Unmarshal(line, &v)
	return v.Type
}

// Seal closes batches older than BatchAge until ctx ends, so a slow stream
// still leaves in time.
func (s *Sender) Seal(ctx context.Context) {
	t := time.NewTicker(max(s.BatchAge/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Spool.SealOlder(s.BatchAge); err != nil && !s.Spool.Stuck() {
				s.Log.Warnf("%v", err)
			}
		}
	}
}

// Send runs Connections workers that send batches until ctx ends. It
// returns a *KeyError when the server refuses the key, and nil when ctx
// ends; batches not yet accepted stay in the spool.
func (s *Sender) Send(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, s.Connections)
	for range s.Connections {
		go func() { errc <- s.worker(ctx) }()
	}
	var first error
	for range s.Connections {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

func (s *Sender) worker(ctx context.Context) error {
	var body, zbody []byte
	var zbuf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zbuf, gzip.BestSpeed)
	bo := api.Backoff{Min: s.RetryMin, Max: s.RetryMax}
	for {
		b, err := s.Spool.Next(ctx)
		if err != nil {
			return nil // context ended or spool closed
		}
		body, err = s.Spool.Body(b, body[:0])
		if err != nil {
			// The spool checked every segment when it opened it; a bad one
			// now means the disk changed under us.
			s.Log.Warnf("%v", err)
			if p, rerr := s.Spool.Reject(b); rerr == nil {
				s.Log.Warnf("batch %s kept in %s and not sent", b.ID, p)
			}
			continue
		}
		typ := b.Type
		var send []byte
		encode := func() {
			if typ == event.TypeSSH && s.sshAsIP.Load() {
				typ = event.TypeIP
				body = sshAsIP(body)
			}
			send = body
			if s.Gzip {
				zbuf.Reset()
				zw.Reset(&zbuf)
				zw.Write(body)
				zw.Close()
				zbody = append(zbody[:0], zbuf.Bytes()...)
				send = zbody
			}
		}
		encode()
		for {
			resp, err := s.Client.SendEvents(ctx, typ, b.ID, send, s.Gzip)
			var nf *api.Error
			if typ == event.TypeSSH && errors.As(err, &nf) && nf.Status == http.StatusNotFound {
				// A server without NFR's ssh extension: send ssh events as
				// ip events from now on, and say so once.
				if s.sshAsIP.CompareAndSwap(false, true) {
					s.Log.Warnf("%v: the server does not take ssh events; sending them as ip events", err)
				}
				encode()
				continue
			}
			if err == nil {
				bo.Reset()
				s.accepted(b, resp)
				if err := s.Spool.Done(b); err != nil {
					s.Log.Warnf("removing sent batch %s: %v", b.ID, err)
				}
				break
			}
			if ctx.Err() != nil {
				s.Spool.Release(b)
				return nil
			}
			if api.IsKeyRejected(err) {
				s.Spool.Release(b)
				return &KeyError{Err: err}
			}
			var ae *api.Error
			if errors.As(err, &ae) && ae.Status == http.StatusRequestEntityTooLarge && b.Events > 1 {
				_, serr := s.Spool.Split(b)
				if serr == nil {
					s.splitOnce.Do(func() {
						s.Log.Warnf("%v: the server refuses batches of %d bytes; sending them in halves (lower submit.batch_bytes to match the server)", err, b.Bytes)
					})
					break
				}
				s.Log.Warnf("splitting batch %s: %v", b.ID, serr)
			}
			if !api.IsTemporary(err) {
				p, rerr := s.Spool.Reject(b)
				if rerr != nil {
					p = "the spool (" + rerr.Error() + ")"
				}
				s.Log.Warnf("%v: batch %s of %d %s events refused; kept in %s, not retried", err, b.ID, b.Events, b.Type, p)
				s.mu.Lock()
				s.stats.RejectedBatches++
				s.mu.Unlock()
				break
			}
			d := bo.Next(err)
			s.failed(err, d)
			select {
			case <-ctx.Done():
				s.Spool.Release(b)
				return nil
			case <-time.After(d):
			}
		}
	}
}

func (s *Sender) accepted(b *spool.Batch, r *api.EventsResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing > 0 {
		s.Log.Infof("sending again after %d failed attempts", s.failing)
		s.failing = 0
	}
	s.stats.Batches++
	s.stats.Accepted += int64(r.Accepted)
	for reason, n := range r.Rejected {
		if s.stats.Rejected == nil {
			s.stats.Rejected = map[string]int64{}
		}
		if _, seen := s.stats.Rejected[reason]; !seen {
			// Said at once, since a sensor may run for months before its
			// end-of-run summary.
			s.Log.Warnf("the server rejected %d of %d %s events in batch %s: %s (more are counted and summed up at exit)",
				n, b.Events, b.Type, b.ID, reason)
		}
		s.stats.Rejected[reason] += int64(n)
	}
}

// failed reports the first failure of an outage, then every 10th, so a
// long outage is visible without flooding the log.
func (s *Sender) failed(err error, d time.Duration) {
	s.mu.Lock()
	s.failing++
	s.stats.Retries++
	n := s.failing
	s.mu.Unlock()
	if n == 1 || n%10 == 0 {
		ev, _ := s.Spool.Stats()
		s.Log.Warnf("%v; retrying in %s (%d events waiting in the spool)", err, d.Round(time.Millisecond), ev)
	}
}

// Summary describes the counters in one line per topic, for the end of a
// run; rejected events and unsent types are warnings.
func (st Stats) Summary() (info string, warnings []string) {
	info = fmt.Sprintf("read %d events; sent %d batches; the server accepted %d events", st.Read, st.Batches, st.Accepted)
	if len(st.Rejected) > 0 {
		var total int64
		for _, n := range st.Rejected {
			total += n
		}
		warnings = append(warnings, fmt.Sprintf("the server rejected %d events: %s", total, byCount(st.Rejected)))
	}
	if len(st.Unsent) > 0 {
		warnings = append(warnings, fmt.Sprintf("not sent, the API takes only dns, ip, http and tls events: %s", byCount(st.Unsent)))
	}
	if st.RejectedBatches > 0 {
		warnings = append(warnings, fmt.Sprintf("%d batches refused by the server are kept in the spool's rejected/ directory", st.RejectedBatches))
	}
	return info, warnings
}

func byCount(m map[string]int64) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return m[ks[i]] > m[ks[j]] || m[ks[i]] == m[ks[j]] && ks[i] < ks[j] })
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}

// ErrStopped is returned when the run was stopped before the spool drained.
var ErrStopped = errors.New("stopped")

// sshAsIP rewrites a batch of ssh events as ip events: each line's type
// becomes "ip"; the ssh fields ride along for a server that ignores them.
func sshAsIP(body []byte) []byte {
	out := make([]byte, 0, len(body)+len(body)/64)
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		out = event.SetField(out, bytes.TrimSpace(line), "type", []byte(`"ip"`))
		out = append(out, '\n')
	}
	return out
}
