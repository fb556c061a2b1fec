package spool

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestFullDisk runs the spool on a tiny tmpfs: when the disk fills, Flush
// says so once, keeps the events it could not store in memory and waits;
// once sent batches free space it stores them, and nothing is lost.
func TestFullDisk(t *testing.T) {
	// Flushing every 100 events writes 11 KB at a time; every 1000, 110 KB,
	// more than the whole disk: batches must still be closed at their
	// limits and written one by one as space comes back.
	for _, every := range []int{100, 1000} {
		t.Run(fmt.Sprintf("flush every %d", every), func(t *testing.T) { fullDisk(t, every) })
	}
}

func fullDisk(t *testing.T, every int) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs for the full-disk test (needs root or CAP_SYS_ADMIN): %v", err)
	}
	defer syscall.Unmount(dir, syscall.MNT_DETACH)

	var mu sync.Mutex
	var warns, infos []string
	s, err := Open(Options{Dir: dir, MaxEvents: 50, Limit: 1 << 30,
		Warn: func(m string) { mu.Lock(); warns = append(warns, m); mu.Unlock() },
		Info: func(m string) { mu.Lock(); infos = append(infos, m); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	const n = 2000 // ~220 KB: over three times the disk
	flushed := make(chan error, 1)
	go func() {
		for i := range n {
			if err := s.Append("dns", line(i)); err != nil {
				flushed <- err
				return
			}
			if i%every == every-1 {
				if err := s.Flush(); err != nil {
					flushed <- err
					return
				}
			}
		}
		flushed <- s.Flush()
	}()
	// Wait until the spool reports it is stuck, with nothing taken out yet.
	deadline := time.Now().Add(10 * time.Second)
	for !s.Stuck() {
		if time.Now().After(deadline) {
			t.Fatal("the spool never reported a full disk")
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	if len(warns) != 1 || !strings.Contains(warns[0], "no space left on device") || !strings.Contains(warns[0], "input paused") {
		t.Errorf("warnings: %q", warns)
	}
	mu.Unlock()

	got := 0
	seen := map[string]bool{}
	appended := false
	deadline = time.Now().Add(20 * time.Second)
	for got < n {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		b, err := s.Next(ctx)
		cancel()
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("after %d events: %v", got, err)
			}
			if !appended {
				select {
				case err := <-flushed:
					if err != nil {
						t.Fatal(err)
					}
					appended = true
					s.SealAll() // the last, partial batch
				default:
				}
			}
			continue
		}
		body, err := s.Body(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
			if seen[l] {
				t.Fatalf("event twice: %s", l)
			}
			seen[l] = true
		}
		got += b.Events
		s.Done(b)
	}
	if got != n {
		t.Fatalf("got %d events, want %d", got, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(infos) == 0 || !strings.Contains(infos[0], "writing again") {
		t.Errorf("no recovery message: %q", infos)
	}
}
