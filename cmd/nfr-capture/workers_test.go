package main

import (
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
)

// TestWorkerStatsLabelled: with AF_PACKET workers, each worker's counter
// block is labelled with its number, on SIGUSR1 and at the end.
func TestWorkerStatsLabelled(t *testing.T) {
	var out, errb testenv.SyncBuffer
	cmd := exec.Command(testenv.Bin(t, "nfr-capture"), "--afpacket", "--workers", "2", "-i", "lo", "--filter", "udp port 9", "--stats")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	c, err := net.Dial("udp", "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(time.Second) // the ring is open
	for range 20 {
		c.Write([]byte("x"))
	}
	cmd.Process.Signal(syscall.SIGUSR1)
	deadline := time.Now().Add(20 * time.Second)
	printed := func() bool {
		// The workers print their blocks one after the other.
		for _, w := range []string{"worker 1: packets", "worker 2: packets", "worker 1: kernel received"} {
			if !strings.Contains(errb.String(), w) {
				return false
			}
		}
		return true
	}
	for !printed() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	if strings.Contains(errb.String(), "permitted") {
		t.Skipf("no permission for AF_PACKET on lo: %s", errb.String())
	}
	if err != nil {
		t.Fatalf("exit: %v\n%s", err, errb.String())
	}
	for _, w := range []string{"nfr-capture: worker 1: packets ", "nfr-capture: worker 2: packets ", "nfr-capture: worker 1: kernel received "} {
		if strings.Count(errb.String(), w) < 2 { // on SIGUSR1 and at the end
			t.Errorf("%q not twice in:\n%s", w, errb.String())
		}
	}
}
