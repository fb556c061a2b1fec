package main

import (
	"bufio"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
)

// TestSIGTERMOnEndlessInput: a producer that never stops writing; one
// SIGTERM makes nfr-scope write what it read and exit 0, every line it
// counted on stdout.
func TestSIGTERMOnEndlessInput(t *testing.T) {
	cmd := exec.Command(testenv.Bin(t, "nfr-scope"), "--stats")
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	errs := &testenv.SyncBuffer{}
	cmd.Stderr = errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	go func() { // endless
		ev := []byte(`{"type":"dns","srcIP":"10.1.1.1","query":"x.com"}` + "\n")
		for {
			if _, err := in.Write(ev); err != nil {
				return
			}
		}
	}()
	lines := make(chan int, 1)
	go func() {
		n := 0
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			n++
		}
		io.Copy(io.Discard, out)
		lines <- n
	}()
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := testenv.WaitExit(t, cmd, 15*time.Second, errs); err != nil {
		t.Fatalf("exit: %v; %s", err, errs.String())
	}
	n := <-lines
	m := regexp.MustCompile(`read (\d+), kept (\d+)`).FindStringSubmatch(errs.String())
	if m == nil {
		t.Fatalf("no stats: %s", errs.String())
	}
	if kept, _ := strconv.Atoi(m[2]); kept != n || n == 0 {
		t.Errorf("kept %s, wrote %d lines", m[2], n)
	}
}

// TestStatsInterval: counts on stderr every --stats-interval while the
// input stays open.
func TestStatsInterval(t *testing.T) {
	cmd := exec.Command(testenv.Bin(t, "nfr-scope"), "--stats-interval", "50ms")
	in, _ := cmd.StdinPipe()
	cmd.Stdout = io.Discard
	errs := &testenv.SyncBuffer{}
	cmd.Stderr = errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	io.WriteString(in, `{"type":"dns","srcIP":"10.1.1.1","query":"x.com"}`+"\n")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(errs.String(), "read 1, kept 1") {
		if time.Now().After(deadline) {
			t.Fatalf("no counts while running: %q", errs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	in.Close()
	if err := testenv.WaitExit(t, cmd, 15*time.Second, errs); err != nil {
		t.Errorf("exit: %v", err)
	}
}
