package cli

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// Input is standard input made interruptible: when it is a pipe or a
// socket it is switched to non-blocking mode and read through Go's poller,
// so a read deadline can end a read that waits for input that may never
// come (an endless producer, a stalled one). Other inputs (files,
// terminals) are read as they are.
type Input struct {
	*os.File
	pollable bool
}

// Stdin returns standard input as an Input. Close restores blocking mode,
// for whoever reads the same pipe after this process.
func Stdin() *Input {
	fi, err := os.Stdin.Stat()
	if err != nil || fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return &Input{File: os.Stdin}
	}
	if err := syscall.SetNonblock(0, true); err != nil {
		return &Input{File: os.Stdin}
	}
	return &Input{File: os.NewFile(0, "/dev/stdin"), pollable: true}
}

// StopAfter makes reads end (with an error Stopped recognises) once grace
// has passed: what is already waiting is read, then input stops. It tells
// whether that is possible (a pipe or socket).
func (in *Input) StopAfter(grace time.Duration) bool {
	return in.pollable && in.SetReadDeadline(time.Now().Add(grace)) == nil
}

// Restore puts standard input back in blocking mode.
func (in *Input) Restore() {
	if in.pollable {
		syscall.SetNonblock(0, false)
	}
}

// Stopped tells whether err is the end of input StopAfter caused.
func Stopped(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
