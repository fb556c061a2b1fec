package cli

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// The second signal cuts a blocked read of the input, so the program's own
// end-of-input path (saving state) runs, and Status reports 128+SIGINT.
func TestInterruptsSecondSignalCutsInput(t *testing.T) {
	// A raw pipe, blocking and outside Go's poller, as stdin is.
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "stdin"), os.NewFile(uintptr(fds[1]), "w")
	defer w.Close()
	input := Interruptible(r)
	firsts := 0
	in := &Interrupts{Input: input, First: func() { firsts++ }}
	exited := make(chan int, 1)
	exit = func(code int) { exited <- code }
	defer func() { exit = os.Exit }()
	in.Watch(nil)
	defer in.Stop()

	read := make(chan error, 1)
	go func() {
		buf := make([]byte, 10)
		_, err := input.Read(buf)
		read <- err
	}()
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-read:
		t.Fatalf("the first signal ended the read (%v): a filter must drain its input", err)
	default:
	}
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	select {
	case err := <-read:
		if !Cut(err) {
			t.Fatalf("read after the second signal: %v, want a cut read", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second signal did not cut the read")
	}
	if firsts != 1 {
		t.Errorf("First ran %d times, want 1", firsts)
	}
	if got := in.Status(0); got != 130 {
		t.Errorf("Status = %d, want 130", got)
	}
	select {
	case code := <-exited:
		t.Errorf("exited with %d before the program saved its state", code)
	default:
	}
}

// Reading a pipe through Go's poller (Interruptible) against plain blocking
// reads: the stdin of nfr-score and nfr-scope, on their hot path.
func BenchmarkStdinPipe(b *testing.B) {
	for _, mode := range []string{"blocking", "interruptible"} {
		b.Run(mode, func(b *testing.B) {
			var fds [2]int
			if err := syscall.Pipe(fds[:]); err != nil {
				b.Fatal(err)
			}
			r, w := os.NewFile(uintptr(fds[0]), "r"), os.NewFile(uintptr(fds[1]), "w")
			if mode == "interruptible" {
				r = Interruptible(r)
			}
			chunk := make([]byte, 64<<10)
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			go func() {
				for i := 0; i < b.N; i++ {
					w.Write(chunk)
				}
				w.Close()
			}()
			buf := make([]byte, 64<<10)
			for {
				if _, err := r.Read(buf); err != nil {
					break
				}
			}
			r.Close()
		})
	}
}

// Stop leaves the pipe blocking again, as the next reader expects.
func TestStopRestoresBlocking(t *testing.T) {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[1])
	in := &Interrupts{Input: Interruptible(os.NewFile(uintptr(fds[0]), "stdin"))}
	in.Watch(nil)
	in.Stop()
	flags, err := fcntl(fds[0])
	if err != nil {
		t.Fatal(err)
	}
	if flags&syscall.O_NONBLOCK != 0 {
		t.Error("the pipe is still non-blocking after Stop")
	}
}

func fcntl(fd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFL, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
