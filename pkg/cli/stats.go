package cli

import (
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// StatsTicker tells a long-running program when to print its counters: on
// SIGUSR1 and, with an interval, every interval. The program asks Due from
// the goroutine that owns the counters, so they need no locks.
type StatsTicker struct {
	asked atomic.Bool
	every time.Duration
	next  time.Time
	sig   chan os.Signal
}

// NewStatsTicker starts listening for SIGUSR1; every <= 0 means on the
// signal only.
func NewStatsTicker(every time.Duration) *StatsTicker {
	t := &StatsTicker{every: every, sig: make(chan os.Signal, 1)}
	if every > 0 {
		t.next = time.Now().Add(every)
	}
	signal.Notify(t.sig, syscall.SIGUSR1)
	go func() {
		for range t.sig {
			t.asked.Store(true)
		}
	}()
	return t
}

// Due reports whether the counters should be printed now (and resets).
func (t *StatsTicker) Due() bool {
	if t.asked.Swap(false) {
		if t.every > 0 {
			t.next = time.Now().Add(t.every)
		}
		return true
	}
	if t.every > 0 && !time.Now().Before(t.next) {
		t.next = time.Now().Add(t.every)
		return true
	}
	return false
}

// Stop stops listening for SIGUSR1.
func (t *StatsTicker) Stop() {
	signal.Stop(t.sig)
	close(t.sig)
}
