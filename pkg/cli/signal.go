package cli

import (
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Interrupts is how every nfr-* program handles SIGINT and SIGTERM, so that a
// Ctrl-C (or the wrapper's or systemd's TERM) reaching every process of a
// pipeline loses nothing:
//
//   - the first signal calls First: a source stops reading and flushes what
//     it holds; a filter or sink keeps draining its input to its end (the
//     source upstream is stopping too) and then exits as it would have at
//     end of input, with the same exit status;
//   - the second signal stops the program now, but never before what must
//     survive is saved: when Input is set its reads are cut (they return
//     an error Cut recognises) and the program's own end-of-input path runs
//     (flushing output, saving state files) and returns Status, which is
//     then 128+signal, the shell's status for a process a signal stopped;
//     Last, when set, runs first; without Input (and not Graceful) the
//     program then exits 128+signal at once.
//     A third signal, or ten seconds without the program ending, exits at
//     once.
//   - with TermGrace set, a first SIGTERM (not SIGINT) cuts Input's reads
//     after TermGrace instead: what is already waiting is read, then the
//     program ends as at end of input, with its own exit status, even
//     when the input never ends (systemd's or the wrapper's stop of a
//     filter fed by an endless producer).
//
// SIGHUP calls Hangup (a reload) when set, and is otherwise ignored, so the
// wrapper can pass a HUP to every stage without killing the ones that do
// not reload.
type Interrupts struct {
	First  func()
	Last   func()
	Hangup func()

	// Input is the program's input (see Interruptible); the second signal
	// cuts its reads.
	Input *os.File

	// Graceful says Last makes the program end by itself (it cancels
	// what is in flight), so the second signal waits for it as for a cut
	// Input.
	Graceful bool

	// TermGrace, when set with Input, is how long a first SIGTERM lets
	// reads go on before they are cut (see above).
	TermGrace time.Duration

	// Note, when set, is printed (as "prog: NOTE") on the first signal.
	Note string

	once   sync.Once
	ch     chan os.Signal
	done   chan struct{}
	mu     sync.Mutex
	status int
}

// Status returns code, or 128+signal when a second signal stopped the
// program: what it returns to os.Exit.
func (in *Interrupts) Status(code int) int {
	in.Stop()
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.status != 0 {
		return in.status
	}
	return code
}

// Cut reports whether err is a read the second signal (or TermGrace) cut.
func Cut(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// Interruptible returns f (usually os.Stdin) so that its reads can be cut by
// a deadline: a pipe, FIFO or socket is reopened in non-blocking mode under Go's
// poller. Files, which never block for long, and terminals, whose mode is
// shared with the shell, are returned as they are. Interrupts.Stop puts the
// descriptor back in blocking mode, for whoever reads the pipe after us.
func Interruptible(f *os.File) *os.File {
	st, err := f.Stat()
	if err != nil || st.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return f
	}
	fd := f.Fd() // Fd makes the descriptor blocking: set non-blocking after
	if err := syscall.SetNonblock(int(fd), true); err != nil {
		return f
	}
	return os.NewFile(fd, f.Name())
}

// exit is os.Exit; tests replace it.
var exit = os.Exit

// Watch starts handling the signals for ui's program; Stop ends it.
func (in *Interrupts) Watch(ui *UI) {
	in.ch = make(chan os.Signal, 4)
	in.done = make(chan struct{})
	if in.Hangup == nil {
		signal.Ignore(syscall.SIGHUP)
		signal.Notify(in.ch, syscall.SIGINT, syscall.SIGTERM)
	} else {
		signal.Notify(in.ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	}
	go in.loop(ui)
}

func (in *Interrupts) loop(ui *UI) {
	n := 0
	for {
		var s os.Signal
		select {
		case s = <-in.ch:
		case <-in.done:
			return
		}
		if s == syscall.SIGHUP {
			in.Hangup()
			continue
		}
		if n++; n == 1 {
			if s == syscall.SIGTERM && in.TermGrace > 0 && in.Input != nil &&
				in.Input.SetReadDeadline(time.Now().Add(in.TermGrace)) == nil {
				if ui != nil {
					ui.Infof("terminated: reading what is waiting, then stopping; again to stop now")
				}
				continue
			}
			if in.Note != "" && ui != nil {
				ui.Infof("%s", in.Note)
			}
			if in.First != nil {
				in.First()
			}
			continue
		}
		code := 128 + int(s.(syscall.Signal))
		if n > 2 {
			exit(code)
			return
		}
		if in.Last != nil {
			in.Last()
		}
		if in.Input == nil && !in.Graceful {
			exit(code)
			return
		}
		in.mu.Lock()
		in.status = code
		in.mu.Unlock()
		if in.Input != nil {
			in.Input.SetReadDeadline(time.Now())
		}
		go func() {
			select {
			case <-in.done:
			case <-time.After(10 * time.Second):
				exit(code)
			}
		}()
	}
}

// Stop stops handling the signals; the program's own end-of-input path
// takes over (and must do what Last does).
func (in *Interrupts) Stop() {
	in.once.Do(func() {
		if in.ch != nil {
			signal.Stop(in.ch)
			close(in.done)
		}
		if in.Input != nil {
			syscall.SetNonblock(int(in.Input.Fd()), false)
		}
	})
}

// DrainNote is the Note of filters and sinks.
const DrainNote = "interrupted: reading the input to its end; interrupt again to stop now"
