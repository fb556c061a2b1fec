package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/tail"
)

// TestKill9RepeatsAtMostOneFlush kills the real binary with SIGKILL in the
// middle of a large dns.log, once reading it through and once following it,
// then runs it again with the same --state: every record comes out, none is
// skipped, and the repeats are at most one checkpoint's worth
// (tail.CheckpointLines lines).
func TestKill9RepeatsAtMostOneFlush(t *testing.T) {
	const n = 400_000
	dir := t.TempDir()
	log := filepath.Join(dir, "dns.log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(header)
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "1700000000.%06d\tC%d\t10.0.0.1\t5353\t10.0.0.53\t53\tudp\tq%d.example\tA\tNOERROR\t1.2.3.4\t60.000000\n", i%1000000, i, i)
	}
	w.Flush()
	f.Close()
	bin := testenv.Bin(t, "nfr-parse-bro")
	for _, mode := range []string{"once", "follow"} {
		t.Run(mode, func(t *testing.T) {
			state := filepath.Join(dir, mode+".json")
			out1 := filepath.Join(dir, mode+".1.ndjson")
			args := []string{"--state", state, log}
			if mode == "follow" {
				args = append([]string{"-f"}, args...)
			}
			o, _ := os.Create(out1)
			cmd := exec.Command(bin, args...)
			cmd.Stdout = o
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Kill it once about 60% of the events are out (~290 bytes each).
			deadline := time.Now().Add(60 * time.Second)
			for {
				fi, _ := o.Stat()
				if fi.Size() > int64(n*3/5*290) || time.Now().After(deadline) {
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			cmd.Process.Kill()
			cmd.Wait()
			o.Close()
			r := testenv.RunBin(t, "nfr-parse-bro", nil, "--state", state, log)
			if r.Code != 0 {
				t.Fatalf("second run: %+v", r.Stderr)
			}
			first, _ := os.ReadFile(out1)
			seen := make(map[string]int, n)
			count := func(s string) int {
				lines := strings.Split(s, "\n")
				// A line cut by the kill is not an event.
				lines = lines[:len(lines)-1]
				for _, l := range lines {
					i := strings.Index(l, `"query":"`)
					if i < 0 {
						t.Fatalf("no query in %q", l)
					}
					q, _, _ := strings.Cut(l[i+9:], `"`)
					seen[q]++
				}
				return len(lines)
			}
			a, b := count(string(first)), count(r.Stdout)
			repeats := 0
			for _, c := range seen {
				repeats += c - 1
			}
			skipped := n - len(seen)
			t.Logf("%s: killed after %d events, restart wrote %d: %d repeated, %d skipped", mode, a, b, repeats, skipped)
			if a == 0 || a >= n {
				t.Fatalf("the kill came at %d of %d events", a, n)
			}
			if skipped != 0 {
				t.Errorf("%d records skipped", skipped)
			}
			if repeats > tail.CheckpointLines {
				t.Errorf("%d records repeated, more than one checkpoint (%d lines)", repeats, tail.CheckpointLines)
			}
		})
	}
}
