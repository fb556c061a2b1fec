package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/rsyslogtest"
	"github.com/nfr-project/nfr/internal/testenv"
)

func demo(t *testing.T) []byte {
	b, err := os.ReadFile(filepath.Join(testenv.Root(t), "pkg/score/testdata/demo.alerts.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPassThroughAndFile(t *testing.T) {
	dir := t.TempDir()
	in := append([]byte(`{"type":"dns","query":"x.example"}`+"\n"), demo(t)...)
	in = append(in, "not json\n"...)
	r := testenv.RunBin(t, "nfr-alert", in, "-c", "/dev/null", "-q", filepath.Join(dir, "q"), "--sensor", "s1",
		"-o", "file:"+filepath.Join(dir, "a.leef"), "-f", "leef", "--stats")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	// Every valid line passes through unchanged (the bad one is reported).
	if r.Stdout != string(in[:len(in)-len("not json\n")]) {
		t.Errorf("stdout is not the input")
	}
	if !strings.Contains(r.Stderr, "nfr-alert: warning: -:22: not a JSON object") || !strings.Contains(r.Stderr, "20 delivered, 0 queued, 0 failed") {
		t.Errorf("stderr: %s", r.Stderr)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "a.leef"))
	if n := bytes.Count(out, []byte("\nLEEF:2.0|AlphaSOC|NFR|")) + 1; n != 20 || !bytes.Contains(out, []byte("\tsensor=s1\t")) {
		t.Errorf("%d LEEF lines: %.300s", n, out)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-c", "/dev/null", "-o", "ftp://x"},
		{"-c", "/dev/null", "-o", "file:/tmp/x", "-f", "xml"},
		{"-c", "/dev/null"},
		{"-c", "/dev/null", "-f", "cef"},
		{"--bogus"},
	} {
		r := testenv.RunBin(t, "nfr-alert", nil, args...)
		if r.Code != 2 || !strings.HasPrefix(r.Stderr, "nfr-alert: error: ") || strings.Count(r.Stderr, "error:") != 1 {
			t.Errorf("%v: exit %d: %s", args, r.Code, r.Stderr)
		}
	}
	if r := testenv.RunBin(t, "nfr-alert", nil, "--version"); r.Code != 0 || !strings.HasPrefix(r.Stdout, "nfr-alert ") {
		t.Errorf("--version: %+v", r)
	}
}

// TestSignals: SIGUSR1 prints the counters; SIGHUP reopens a file output
// moved away; a receiver that is down leaves alerts queued and the exit
// status 0.
func TestSignals(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.json")
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	down := l.Addr().String()
	l.Close()
	cmd := exec.Command(testenv.Bin(t, "nfr-alert"), "-c", "/dev/null", "-q", filepath.Join(dir, "q"), "--wait", "200ms",
		"-o", "file:"+path, "-o", "syslog+tcp://"+down, "--no-pass")
	stdin, _ := cmd.StdinPipe()
	var stderr testenv.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(demo(t), []byte("\n"))
	stdin.Write(bytes.Join(lines[:10], nil))
	waitLines(t, path, 10)
	os.Rename(path, path+".1")
	cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(100 * time.Millisecond)
	stdin.Write(bytes.Join(lines[10:], nil))
	waitLines(t, path, len(lines)-10-1)
	cmd.Process.Signal(syscall.SIGUSR1)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stderr.String(), "a.json: 38 delivered") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stdin.Close()
	err := cmd.Wait()
	if err != nil {
		t.Errorf("exit: %v: %s", err, stderr.String())
	}
	s := stderr.String()
	if !strings.Contains(s, "a.json: 20 delivered, 0 queued") || !strings.Contains(s, "20 alerts still queued") {
		t.Errorf("stderr: %s", s)
	}
}

func waitLines(t *testing.T, path string, n int) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if f, err := os.Open(path); err == nil {
			c := 0
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				c++
			}
			f.Close()
			if c >= n {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: fewer than %d lines", path, n)
}

// TestConfigRoutes: alerts.outputs from config.yml, each with its route.
func TestConfigRoutes(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.yml")
	os.WriteFile(conf, []byte(`sensor: cfg-sensor
alerts:
  queue: q
  outputs:
    - {name: all, url: "file:all.json"}
    - {name: high, url: "file:high.json", min_severity: 4}
    - {name: nodga, url: "file:nodga.json", threats: {exclude: [dga]}}
    - {name: dgaonly, url: "file:dga.json", threats: {include: [dga]}, format: text}
    - {name: nopolicy, url: "file:nopolicy.json", policy: false}
`), 0o600)
	r := testenv.RunBin(t, "nfr-alert", demo(t), "-c", conf, "--no-pass", "--stats")
	if r.Code != 0 || r.Stdout != "" {
		t.Fatalf("exit %d: %s %s", r.Code, r.Stdout, r.Stderr)
	}
	count := func(name string) int {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return bytes.Count(b, []byte("\n"))
	}
	// The demo: 10 incidents, each a first alert and an update: 20 lines,
	// 10 of severity 4, 2 dga, 4 policy-only (cleartext, doh).
	for name, want := range map[string]int{"all.json": 20, "high.json": 10, "nodga.json": 18, "dga.json": 2} {
		if got := count(name); got != want {
			t.Errorf("%s: %d alerts, want %d", name, got, want)
		}
	}
	if n := count("nopolicy.json"); n != 16 {
		t.Errorf("nopolicy: %d", n)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "all.json"))
	if !bytes.Contains(b, []byte(`"sensor":"cfg-sensor"}`)) {
		t.Errorf("no sensor: %.200s", b)
	}
	if !strings.Contains(r.Stderr, "high: 10 delivered, 0 queued, 0 failed") {
		t.Errorf("stats: %s", r.Stderr)
	}
}

// TestKilledAndRestarted: nfr-alert killed (SIGKILL) in the middle of
// delivering 10,000 queued alerts over RELP, then run again: every alert
// arrives, in order; only the chunk in flight at the kill (at most 256)
// may arrive twice: at least once across a restart of nfr-alert itself.
func TestKilledAndRestarted(t *testing.T) {
	r := rsyslogtest.Start(t)
	r.Stop(syscall.SIGTERM) // down while nfr-alert queues everything
	dir := t.TempDir()
	const n = 10000
	var in bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&in, `{"type":"alert","v":1,"ts":"2026-11-02T09:01:55Z","srcIP":"10.0.0.1","destIP":"10.0.0.2","query":"x%d.example","eventType":"dns","severity":4,"threats":{"dga":{"title":"DGA","severity":4,"policy":false}},"reason":"alert %d"}`+"\n", i, i)
	}
	args := []string{"-c", "/dev/null", "-q", filepath.Join(dir, "q"), "--no-pass", "--wait", "1m",
		"-o", fmt.Sprintf("syslog+relp://127.0.0.1:%d", r.RELP)}
	cmd := exec.Command(testenv.Bin(t, "nfr-alert"), args...)
	cmd.Stdin = &in
	var stderr testenv.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // reads and queues all, retries the receiver
	r.Start()
	r.WaitFor(n/3, 30*time.Second)
	cmd.Process.Kill()
	cmd.Wait()
	got1 := len(r.Lines())
	res := testenv.RunBin(t, "nfr-alert", nil, append(args, "--stats")...)
	if res.Code != 0 {
		t.Fatalf("second run: exit %d: %s", res.Code, res.Stderr)
	}
	got := r.WaitFor(n, 10*time.Second)
	seen := map[int]int{}
	next, twice := 0, 0
	for _, m := range got {
		var v int
		fmt.Sscanf(m.Tree.Reason, "alert %d", &v)
		if seen[v]++; seen[v] > 1 {
			twice++
			continue
		}
		if v != next {
			t.Fatalf("alert %d arrived where %d was due", v, next)
		}
		next++
	}
	if next != n {
		t.Errorf("%d of %d alerts arrived", next, n)
	}
	if twice > 256 {
		t.Errorf("%d alerts arrived twice, want at most one chunk (256)", twice)
	}
	t.Logf("killed after %d alerts arrived; after the restart all %d arrived in order, %d twice", got1, n, twice)
}
