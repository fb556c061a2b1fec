package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfr-project/nfr/pkg/spool"
)

// Output is one destination with its format, route and on-disk queue.
type Output struct {
	Name   string
	Dest   Dest
	Format Formatter
	Route  Route
	// QueueDir holds this output's queue (a pkg/spool directory).
	QueueDir string
	// QueueLimit is the queue's size in bytes above which input waits.
	QueueLimit int64
	// Fsync of the queue: always, batch (default) or never.
	Fsync string
	// MaxBackoff caps the wait between retries (default 30s).
	MaxBackoff time.Duration
	// Warn and Info receive messages for people.
	Warn, Info func(string)

	sp      *spool.Spool
	sender  Sender
	syslog  bool
	full    atomic.Bool
	stopped chan struct{}

	delivered, failed, retries atomic.Int64
	rejectMu                   sync.Mutex
}

// Stats are an output's counters.
type Stats struct {
	Name      string
	Delivered int64 // accepted by the receiver
	Queued    int64 // on disk, waiting
	Failed    int64 // refused for good, kept in the queue's rejected.log
	Retries   int64 // failed attempts, retried
}

func (s Stats) String() string {
	return fmt.Sprintf("%s: %d delivered, %d queued, %d failed, %d retries", s.Name, s.Delivered, s.Queued, s.Failed, s.Retries)
}

// Open opens the output's queue (recovering what a previous run left) and
// its sender.
func (o *Output) Open() error {
	if o.Warn == nil {
		o.Warn = func(string) {}
	}
	if o.Info == nil {
		o.Info = func(string) {}
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	o.Dest.Reject = o.reject
	if err := o.Dest.Check(); err != nil {
		return err
	}
	s, err := Dial(o.Dest)
	if err != nil {
		return err
	}
	o.sender = s
	o.syslog = strings.HasPrefix(o.Dest.scheme, "syslog")
	if o.Dest.scheme == "http" || o.Dest.scheme == "https" {
		switch o.Dest.Body {
		case "slack", "teams":
			o.Format.Name, o.Format.Color = "text", false
		}
	}
	sp, err := spool.Open(spool.Options{
		Dir: o.QueueDir, Limit: o.QueueLimit, Fsync: o.Fsync,
		MaxEvents: 2000, MaxBytes: 4 << 20,
		Warn: func(m string) { o.Warn(o.Name + ": " + m) },
		Info: func(m string) { o.Info(o.Name + ": " + m) },
	})
	if err != nil {
		s.Close()
		return fmt.Errorf("%s: queue: %w", o.Name, err)
	}
	o.sp = sp
	if n, _ := sp.Stats(); n > 0 {
		o.Info(fmt.Sprintf("%s: %d alerts queued by an earlier run, delivering them first", o.Name, n))
	}
	o.stopped = make(chan struct{})
	return nil
}

// Stats returns the output's counters.
func (o *Output) Stats() Stats {
	q, _ := o.sp.Stats()
	return Stats{Name: o.Name, Delivered: o.delivered.Load(), Queued: q, Failed: o.failed.Load(), Retries: o.retries.Load()}
}

// Reopen reopens a file output (after logrotate moved it).
func (o *Output) Reopen() {
	if f, ok := o.sender.(*FileSender); ok {
		f.Reopen()
	}
}

// add queues one alert line. It waits while the queue is full.
func (o *Output) add(line []byte) error {
	if _, size := o.sp.Stats(); o.QueueLimit > 0 && size >= o.QueueLimit {
		if !o.full.Swap(true) {
			o.Warn(fmt.Sprintf("%s: queue full (%d MiB in %s): input waits until the receiver takes alerts", o.Name, size>>20, o.QueueDir))
		}
	} else if o.full.Load() && size < o.QueueLimit/2 {
		o.full.Store(false)
	}
	return o.sp.Append("alert", line)
}

// reject keeps a refused message in rejected.log in the queue directory.
func (o *Output) reject(msg []byte, why string) {
	o.failed.Add(1)
	o.rejectMu.Lock()
	defer o.rejectMu.Unlock()
	path := filepath.Join(o.QueueDir, "rejected.log")
	o.Warn(fmt.Sprintf("%s: alert refused for good (%s), kept in %s", o.Name, why, path))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		o.Warn(fmt.Sprintf("%s: %v", o.Name, err))
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s\t%s\n", strings.ReplaceAll(why, "\t", " "), bytes.ReplaceAll(msg, []byte("\n"), []byte(`\n`)))
}

// deliver takes batches from the queue, in order, and sends them until ctx
// ends. A batch leaves the queue only when every alert in it is settled.
func (o *Output) deliver(ctx context.Context) {
	defer close(o.stopped)
	var body, out []byte
	var msgs [][]byte
	var ends []int
	var a Alert
	backoff := time.Duration(0)
	failing := false
	for {
		b, err := o.sp.Next(ctx)
		if err != nil {
			return
		}
		body, err = o.sp.Body(b, body[:0])
		if err != nil {
			o.Warn(fmt.Sprintf("%s: reading the queue: %v", o.Name, err))
			o.sp.Release(b)
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		msgs = msgs[:0]
		ends = ends[:0]
		out = out[:0]
		for _, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
			if err := Parse(line, &a); err != nil {
				o.reject(line, "not an alert: "+err.Error())
				continue
			}
			if o.syslog {
				out = o.Format.AppendSyslog(out, &a)
			} else {
				out = o.Format.Append(out, &a)
			}
			ends = append(ends, len(out))
		}
		start := 0
		for _, e := range ends {
			msgs = append(msgs, out[start:e:e])
			start = e
		}
		done := o.progress(b.ID, len(msgs))
		for done < len(msgs) {
			before := o.failed.Load()
			n, err := o.sender.Send(msgs[done:min(len(msgs), done+chunk)])
			done += n
			o.delivered.Add(int64(n) - (o.failed.Load() - before))
			if n > 0 && done < len(msgs) {
				o.saveProgress(b.ID, done)
			}
			if err == nil {
				if failing {
					o.Info(fmt.Sprintf("%s: delivering again", o.Name))
					failing = false
				}
				backoff = 0
				continue
			}
			o.retries.Add(1)
			if ctx.Err() != nil {
				break
			}
			wait := nextBackoff(backoff, o.MaxBackoff)
			backoff = wait
			var ra *RetryAfter
			if errors.As(err, &ra) && ra.Wait > 0 {
				wait = ra.Wait
			}
			if !failing {
				q, _ := o.sp.Stats()
				o.Warn(fmt.Sprintf("%s: %v; retrying (%d alerts queued)", o.Name, err, q))
				failing = true
			}
			if !sleep(ctx, wait) {
				break
			}
		}
		if done < len(msgs) {
			// Stopping: the batch goes back; the progress file says how
			// much of it is settled.
			o.sp.Release(b)
			return
		}
		if err := o.sp.Done(b); err != nil {
			o.Warn(fmt.Sprintf("%s: %v", o.Name, err))
		}
	}
}

func nextBackoff(cur, max time.Duration) time.Duration {
	if cur <= 0 {
		return 100 * time.Millisecond
	}
	return min(cur*2, max)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// close stops the deliverer (which must have been told by its context) and
// closes the queue and the sender.
func (o *Output) close() error {
	o.sender.Close()
	if o.stopped != nil {
		<-o.stopped
	}
	return o.sp.Close()
}

// chunk is how many alerts go to a Sender at a time; after each chunk the
// progress in the batch is written down, so a restart after a kill sends
// at most one chunk again.
const chunk = 256

// progress returns how many alerts of batch id a previous run settled
// (written by saveProgress), or 0.
func (o *Output) progress(id string, n int) int {
	b, err := os.ReadFile(filepath.Join(o.QueueDir, "progress"))
	if err != nil {
		return 0
	}
	pid, num, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	if !ok || pid != id {
		return 0
	}
	done, err := strconv.Atoi(num)
	if err != nil || done < 0 || done > n {
		return 0
	}
	if done > 0 {
		o.Info(fmt.Sprintf("%s: %d alerts of the first queued batch were delivered before the last stop; sending the rest", o.Name, done))
	}
	return done
}

// saveProgress writes how much of batch id is settled. It is not synced:
// it survives a killed process, and after a power cut the batch is sent
// again whole, as it would be without it.
func (o *Output) saveProgress(id string, done int) {
	path := filepath.Join(o.QueueDir, "progress")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+" "+strconv.Itoa(done)+"\n"), 0o600); err == nil {
		os.Rename(tmp, path)
	}
}
