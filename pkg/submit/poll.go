package submit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/spool"
)

// Poller fetches alerts and writes them as alert events. The cursor is
// saved only after the alerts before it are written and flushed (and
// fsynced, when Sync is set for an output file), so a restart neither
// repeats nor skips an alert.
type Poller struct {
	Client     *api.Client
	Out        *event.Writer
	Sync       func() error // makes Out durable after a flush; nil for pipes
	CursorPath string
	Interval   time.Duration
	RetryMin   time.Duration
	RetryMax   time.Duration
	Log        Log

	lock    *os.File // held while polling, so two pollers never share a cursor
	cursor  string
	unsaved bool // cursor not yet on disk
	saveErr bool // the last save failed and was reported
	loaded  bool
	alerts  int64
	skipped int64
	line    []byte
}

// Close releases the cursor.
func (p *Poller) Close() error {
	if p.lock == nil {
		return nil
	}
	return p.lock.Close()
}

// Alerts returns how many alerts were written, and skipped as unreadable.
func (p *Poller) Alerts() (written, skipped int64) { return p.alerts, p.skipped }

func (p *Poller) load() error {
	if p.loaded {
		return nil
	}
	lock, err := spool.Lock(p.CursorPath + ".lock")
	if errors.Is(err, spool.ErrLocked) {
		return fmt.Errorf("alert cursor %s is in use by another nfr-submit", p.CursorPath)
	}
	if err != nil {
		return err
	}
	p.lock = lock
	b, err := os.ReadFile(p.CursorPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	p.cursor = strings.TrimSpace(string(b))
	p.loaded = true
	return nil
}

// Once fetches every alert ready now (following "more" at once) and
// returns how many it wrote.
func (p *Poller) Once(ctx context.Context) (int, error) {
	if err := p.load(); err != nil {
		return 0, err
	}
	n := 0
	for {
		prev := p.cursor
		r, err := p.Client.Alerts(ctx, p.cursor)
		if err != nil {
			return n, err
		}
		for i := range r.Alerts {
			p.line, err = AlertLine(p.line[:0], &r.Alerts[i], r.Threats)
			if err != nil {
				p.skipped++
				p.Log.Warnf("alert %d after cursor %q: %v; skipped", i+1, p.cursor, err)
				continue
			}
			if err := p.Out.WriteLine(p.line); err != nil {
				return n, fmt.Errorf("writing alerts: %w", err)
			}
			n++
			p.alerts++
		}
		if err := p.Out.Flush(); err != nil {
			return n, fmt.Errorf("writing alerts: %w", err)
		}
		if p.Sync != nil && len(r.Alerts) > 0 {
			if err := p.Sync(); err != nil {
				return n, fmt.Errorf("writing alerts: %w", err)
			}
		}
		if r.Follow != "" && r.Follow != p.cursor {
			p.cursor, p.unsaved = r.Follow, true
		}
		p.save()
		// Follow "more" at once, unless the cursor did not move: asking
		// again would only get the same answer.
		if !r.More || p.cursor == prev {
			return n, nil
		}
	}
}

// save writes the cursor. A failure (a full disk) is reported once and
// retried at every poll: polling goes on, and only a restart before the
// cursor could be saved would print those alerts again.
func (p *Poller) save() {
	if !p.unsaved {
		return
	}
	if err := spool.ReplaceFile(p.CursorPath, []byte(p.cursor+"\n"), 0o600); err != nil {
		if !p.saveErr {
			p.Log.Warnf("cannot save the alert cursor: %v; alerts already written would be written again after a restart, until it can be saved", err)
			p.saveErr = true
		}
		return
	}
	if p.saveErr {
		p.Log.Infof("alert cursor saved again in %s", p.CursorPath)
	}
	p.unsaved, p.saveErr = false, false
}

// Run polls every Interval until ctx ends. With quiet > 0 it returns once
// no new alert has come for that long. Temporary failures are retried with
// backoff; a refused key ends it with a *KeyError.
func (p *Poller) Run(ctx context.Context, quiet time.Duration) error {
	every := p.Interval
	if quiet > 0 {
		every = min(every, max(quiet/5, 50*time.Millisecond))
	}
	bo := api.Backoff{Min: p.RetryMin, Max: p.RetryMax}
	last := time.Now()
	failing := 0
	for {
		n, err := p.Once(ctx)
		wait := every
		switch {
		case err == nil:
			if failing > 0 {
				p.Log.Infof("polling alerts again after %d failed attempts", failing)
			}
			failing = 0
			bo.Reset()
		case ctx.Err() != nil:
			return nil
		case api.IsKeyRejected(err):
			return &KeyError{Err: err}
		case api.IsTemporary(err):
			failing++
			wait = bo.Next(err)
			if failing == 1 || failing%10 == 0 {
				p.Log.Warnf("%v; retrying in %s", err, wait.Round(time.Millisecond))
			}
		default:
			return err
		}
		if n > 0 {
			last = time.Now()
		}
		if quiet > 0 && time.Since(last) >= quiet {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}
