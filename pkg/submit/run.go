package submit

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// Input is one named input stream.
type Input struct {
	Name string
	R    io.Reader
}

// Runner is a whole nfr-submit run: input to spool to server, and alerts
// back. Sender nil means --alerts-only; Poller nil means --no-alerts.
type Runner struct {
	Sender *Sender
	Poller *Poller
	Inputs []Input
	Warn   func(string) // bad input lines, with file:line
	// Wait keeps polling alerts after the input is sent until none has come
	// for this long; 0 means one last poll.
	Wait time.Duration
	// Interrupt is closed on the first Ctrl-C or SIGTERM: input is still
	// read to its end, then sending gets Grace to finish before the rest is
	// left in the spool for the next start. Cancelling Run's context (the
	// second signal) stops at once.
	Interrupt <-chan struct{}
	Grace     time.Duration
}

// StoppedError says events were left in the spool for the next start.
type StoppedError struct{ Events int64 }

func (e *StoppedError) Error() string {
	return fmt.Sprintf("stopped with %d events not yet accepted; they stay in the spool and are sent at the next start", e.Events)
}

// Run runs until the input is sent and alerts are polled, or it is
// stopped. It returns a *KeyError when the key is refused and a
// *StoppedError when it stopped with events still in the spool.
func (r *Runner) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if r.Sender == nil {
		pctx, pcancel := context.WithCancel(ctx)
		defer pcancel()
		go func() {
			select {
			case <-r.Interrupt:
				pcancel()
			case <-pctx.Done():
			}
		}()
		return r.Poller.Run(pctx, 0)
	}

	fatal := make(chan error, 2)
	sendCtx, stopSend := context.WithCancel(ctx)
	defer stopSend()
	go r.Sender.Seal(sendCtx)
	go func() {
		if err := r.Sender.Send(sendCtx); err != nil {
			fatal <- err
		}
	}()
	pollCtx, stopPoll := context.WithCancel(ctx)
	pollDone := make(chan struct{})
	if r.Poller != nil {
		go func() {
			defer close(pollDone)
			if err := r.Poller.Run(pollCtx, 0); err != nil {
				fatal <- err
			}
		}()
	} else {
		close(pollDone)
	}
	defer func() { stopPoll(); <-pollDone }()

	readDone := make(chan error, 1)
	go func() {
		for _, in := range r.Inputs {
			if err := r.Sender.Read(in.R, in.Name, r.Warn); err != nil {
				readDone <- err
				return
			}
		}
		readDone <- nil
	}()
	select {
	case err := <-readDone:
		if err != nil {
			return err
		}
	case err := <-fatal:
		return err
	case <-ctx.Done():
		return r.stopped()
	}

	// End of input: send what is left.
	if err := r.Sender.Spool.SealAll(); err != nil {
		return err
	}
	waitCtx, stopWait := context.WithCancel(ctx)
	defer stopWait()
	go func() {
		select {
		case <-r.Interrupt:
		case <-waitCtx.Done():
			return
		}
		select {
		case <-time.After(r.Grace):
			stopWait()
		case <-waitCtx.Done():
		}
	}()
	empty := make(chan error, 1)
	go func() { empty <- r.Sender.Spool.WaitEmpty(waitCtx) }()
	select {
	case err := <-empty:
		if err != nil {
			return r.stopped()
		}
	case err := <-fatal:
		return err
	}
	stopSend()

	if r.Poller == nil {
		return nil
	}
	stopPoll()
	<-pollDone
	select {
	case err := <-fatal:
		return err
	default:
	}
	if r.Wait > 0 && !closed(r.Interrupt) {
		return r.Poller.Run(ctx, r.Wait)
	}
	return r.Poller.Last(ctx, lastPollAttempts)
}

func (r *Runner) stopped() error {
	ev, _ := r.Sender.Spool.Stats()
	if ev == 0 {
		return nil
	}
	return &StoppedError{Events: ev}
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// OpenInputs opens the named files in order; none or "-" is stdin. The
// returned func closes them.
func OpenInputs(names []string, stdin io.Reader) ([]Input, func(), error) {
	if len(names) == 0 {
		names = []string{"-"}
	}
	var ins []Input
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, name := range names {
		if name == "-" {
			ins = append(ins, Input{Name: "-", R: stdin})
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		files = append(files, f)
		ins = append(ins, Input{Name: name, R: f})
	}
	return ins, closeAll, nil
}

// Report tells log what happened: events the server rejected and events
// not sent always (as warnings), the rest when verbose.
func (r *Runner) Report(log Log, verbose bool) {
	if r.Sender != nil {
		info, warns := r.Sender.Stats().Summary()
		for _, w := range warns {
			log.Warnf("%s", w)
		}
		if verbose {
			log.Infof("%s", info)
		}
	}
	if r.Poller != nil && verbose {
		n, bad := r.Poller.Alerts()
		if bad > 0 {
			log.Infof("wrote %d alerts; skipped %d unreadable ones", n, bad)
		} else {
			log.Infof("wrote %d alerts", n)
		}
	}
}
