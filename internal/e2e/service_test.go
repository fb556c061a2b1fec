package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
)

// Two Ctrl-C to nfr-score still save --state, and the exit status says a
// signal stopped it.
func TestScoreSavesStateOnSecondInterrupt(t *testing.T) {
	state := filepath.Join(t.TempDir(), "score.state")
	cmd := exec.Command(testenv.Bin(t, "nfr-score"), "--state", state)
	cmd.Env = append(os.Environ(), "NFR_CONFIG=/dev/null")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testenv.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	in.Write([]byte(`{"type":"dns","ts":"2024-01-01T00:00:00Z","srcIP":"10.0.0.1","query":"example.com","qtype":"A"}` + "\n"))
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("nfr-score did not stop on a second SIGINT; stderr %q", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130; stderr %q", code, stderr.String())
	}
	if st, err := os.Stat(state); err != nil || st.Size() == 0 {
		t.Errorf("state not saved on the second interrupt: %v", err)
	}
}

func TestScoreRejectsBadOptionsBeforeReading(t *testing.T) {
	r := testenv.RunBin(t, "nfr-score", nil, "--min-severity", "9")
	if r.Code != 2 || !strings.Contains(r.Stderr, "outside 0-5") {
		t.Errorf("nfr-score --min-severity 9: exit %d, stderr %q", r.Code, r.Stderr)
	}
	// -s is the snapshot length of nfr-capture alone (tcpdump's letter).
	if r := testenv.RunBin(t, "nfr-score", nil, "-s", "9"); r.Code != 2 {
		t.Errorf("nfr-score -s 9: exit %d, want a usage error", r.Code)
	}
	// stdin is never closed: the check must come before the first read.
	cmd := exec.Command(testenv.Bin(t, "nfr-score"), "--state", "/missing/dir/x")
	cmd.Env = append(os.Environ(), "NFR_CONFIG=/dev/null")
	pr, pw, _ := os.Pipe()
	defer pw.Close()
	cmd.Stdin = pr
	out, err := runTimeout(cmd, 10*time.Second)
	pr.Close()
	if err == nil || !strings.Contains(out, "/missing/dir does not exist") {
		t.Errorf("--state /missing/dir/x: %v, %q", err, out)
	}
}

// runTimeout runs cmd and returns its combined output, killing it after d.
func runTimeout(cmd *exec.Cmd, d time.Duration) (string, error) {
	var b testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Start(); err != nil {
		return "", err
	}
	t := time.AfterFunc(d, func() { cmd.Process.Kill() })
	defer t.Stop()
	err := cmd.Wait()
	return b.String(), err
}

// nfrIn runs scripts/nfr with stdin.
func nfrIn(t *testing.T, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	return testenv.Run(t, filepath.Join(testenv.Root(t), "scripts", "nfr"), stdin,
		[]string{"PATH=" + family(t) + ":" + os.Getenv("PATH"), "NFR_CONFIG=", "NFR_API_KEY="}, args...)
}

func demoPcap(t *testing.T) string { return filepath.Join(testenv.Root(t), "testdata", "demo.pcap") }

// The original contract: alerts on stderr, diagnostics on stdout, so that
// `nfr read ... 2>&1 >/dev/null | jq` sees alerts only, even when a parser
// warns; and nfr read exits 1 naming the reader that failed while the
// others still run.
func TestWrapperAlertsApartFromDiagnostics(t *testing.T) {
	dir := t.TempDir()
	eve := writeFile(t, dir, "eve.json", []byte("{damaged\n"+`{"timestamp":"2020-01-01T00:00:00.000000+0000","event_type":"dns","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","dns":{"type":"query","rrname":"example.com","rrtype":"A"}}`+"\n"))
	stdout, stderr, code := nfrIn(t, nil, "read", demoPcap(t), eve)
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "nfr-parse-suricata: warning:") {
		t.Errorf("the parser warning is not on stdout (log.file): %q", stdout)
	}
	alerts := strings.Split(strings.TrimSpace(stderr), "\n")
	for _, l := range alerts {
		if !strings.HasPrefix(l, `{"type":"alert"`) {
			t.Fatalf("not an alert on stderr: %q", l)
		}
	}
	if len(alerts) < 10 {
		t.Errorf("%d alerts from demo.pcap, want the demo's alerts", len(alerts))
	}
	t.Logf("%d alerts on stderr, %d diagnostic lines on stdout", len(alerts), strings.Count(stdout, "\n"))

	bad := writeFile(t, dir, "bad.pcap", []byte("\xd4\xc3\xb2\xa1 not a capture at all"))
	stdout, stderr, code = nfrIn(t, nil, "read", bad, eve)
	if code != 1 || !strings.Contains(stdout, "nfr: error: reader failed (exit 1): nfr-capture -r "+bad) {
		t.Errorf("a failing reader: exit %d, stdout %q", code, stdout)
	}
	if !strings.Contains(stdout, "nfr-parse-suricata: warning:") {
		t.Errorf("the reader after the failing one did not run: %q", stdout)
	}
	_ = stderr
}

// Every Zeek log of a read goes to one nfr-parse-bro (ssl.log and x509.log
// join); an empty rotated log is skipped with a warning; stdin is told
// apart like a file.
func TestWrapperReadKinds(t *testing.T) {
	z := testenv.SharedPath(t, "zeek", "ssl-tls12", "legacy-zeek-3.3.0-dev")
	ssl, x509 := filepath.Join(z, "ssl.log"), filepath.Join(z, "x509.log")
	out, _, code := nfrIn(t, nil, "-n", "read", ssl, x509)
	if want := "nfr-parse-bro " + ssl + " " + x509 + " | nfr-scope | nfr-score"; code != 0 || !strings.HasPrefix(out, want) {
		t.Errorf("ssl.log + x509.log: exit %d, %q, want prefix %q", code, out, want)
	}
	dir := t.TempDir()
	empty := writeFile(t, dir, "dns.log.1", nil)
	stdout, stderr, code := nfrIn(t, nil, "read", empty, ssl, x509)
	if code != 0 || !strings.Contains(stdout, "nfr: warning: "+empty+": empty, skipped") || strings.Contains(stderr, "warning") {
		t.Errorf("empty log: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	logData, err := os.ReadFile(ssl)
	if err != nil {
		t.Fatal(err)
	}
	eve := []byte(`{"timestamp":"2020-01-01T00:00:00.000000+0000","event_type":"dns"}` + "\n")
	for _, tt := range []struct {
		name  string
		stdin []byte
		want  string
	}{
		{"pcap", mustRead(t, demoPcap(t)), "nfr-capture -r - | nfr-scope"},
		{"zeek", logData, "nfr-parse-bro - | nfr-scope"},
		{"eve", eve, "nfr-parse-suricata - | nfr-scope"},
		{"events", []byte(`{"type":"dns","v":1}` + "\n"), "cat | nfr-scope"},
	} {
		out, errOut, code := nfrIn(t, tt.stdin, "-n", "read")
		if code != 0 || !strings.HasPrefix(out, tt.want) {
			t.Errorf("stdin %s: exit %d, %q (%s), want prefix %q", tt.name, code, out, errOut, tt.want)
		}
	}
	// From stdin for real: the sniffed start is not lost.
	_, alerts, code := nfrIn(t, mustRead(t, demoPcap(t)), "read")
	_, direct, _ := nfrIn(t, nil, "read", demoPcap(t))
	// The same alerts; only their "source" differs (- against the file name).
	if n, m := strings.Count(alerts, "\n"), strings.Count(direct, "\n"); code != 0 || n != m || n == 0 {
		t.Errorf("demo.pcap on stdin: exit %d, %d alert bytes, %d from the file", code, len(alerts), len(direct))
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// What a new user tried: nfr -v in a source tree, nfr account alone.
func TestWrapperNewUserBugs(t *testing.T) {
	out, _, code := nfrIn(t, nil, "-v")
	if code != 0 || strings.Contains(out, "VERSION") || !strings.HasPrefix(out, "nfr ") {
		t.Errorf("nfr -v: exit %d, %q", code, out)
	}
	out, errOut, code := nfrIn(t, nil, "account")
	if code != 2 || out != "" || !strings.Contains(errOut, "Usage: nfr account") {
		t.Errorf("nfr account: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// A bad config.yml is reported once, by nfr-check, with its line.
	dir := t.TempDir()
	conf := writeFile(t, dir, "config.yml", []byte("network:\n  dns_portz: [5353]\n"))
	_, errOut, code = nfrIn(t, nil, "-c", conf, "read", demoPcap(t))
	if code != 2 || strings.Count(errOut, "error:") != 1 || !strings.Contains(errOut, conf+":2:") {
		t.Errorf("bad config: exit %d, stderr %q", code, errOut)
	}
	// A block-style list, which the awk reader used to drop, reaches nfr-capture.
	conf = writeFile(t, dir, "config.yml", []byte("network:\n  types:\n    - tls\n"))
	out, errOut, code = nfrIn(t, nil, "-c", conf, "read", demoPcap(t))
	if code != 0 {
		t.Fatalf("block list: exit %d, %s", code, errOut)
	}
	if strings.Contains(errOut, `"dns"`) {
		t.Errorf("network.types: [tls] given as a block list, yet DNS alerts came: %.300s", errOut)
	}
}

// startRead starts `nfr read` on a pipe it returns, with diagnostics
// (log.file) in out and alerts in alerts.
func startRead(t *testing.T) (*exec.Cmd, *os.File, *testenv.SyncBuffer, *testenv.SyncBuffer) {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.Root(t), "scripts", "nfr"), "read")
	cmd.Env = append(os.Environ(), "PATH="+family(t)+":"+os.Getenv("PATH"), "NFR_CONFIG=", "NFR_API_KEY=")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = pr
	var out, alerts testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &alerts
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	return cmd, pw, &out, &alerts
}

// TERM sent to the wrapper alone reaches every stage: the pipeline stops,
// its input pipe is closed, and the wrapper exits.
func TestWrapperForwardsTerm(t *testing.T) {
	cmd, pw, out, alerts := startRead(t)
	defer pw.Close()
	line := []byte(`{"type":"dns","v":1,"ts":"2024-01-01T00:00:00Z","srcIP":"10.0.0.1","query":"example.com","qtype":"A"}` + "\n")
	pw.Write(line)
	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("nfr did not stop on SIGTERM: %s", out.String())
	}
	// cat, reading stdin, is stopped by the TERM (the Go programs drain
	// and exit 0): the wrapper says so with 128+TERM, and names no failure.
	if code := cmd.ProcessState.ExitCode(); code != 143 || strings.Contains(out.String(), "failed") || alerts.String() != "" {
		t.Errorf("nfr read stopped by TERM: exit %d, want 143, no failure and nothing but alerts on stderr\nstdout %s\nstderr %s", code, out.String(), alerts.String())
	}
	// Every reader of the pipe is gone.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := pw.Write(line); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a stage still reads the input after the wrapper exited")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// nfr check through the wrapper: 0 when nfr listen would run.
func TestWrapperCheck(t *testing.T) {
	conf := filepath.Join(testenv.Root(t), "config.yml")
	out, errOut, code := nfrIn(t, nil, "-c", conf, "check", "-i", "lo")
	caps, _ := os.ReadFile("/proc/self/status")
	root := strings.Contains(string(caps), "CapEff:\t000001ff") || os.Geteuid() == 0
	if root && code != 0 {
		t.Errorf("nfr check -i lo as root: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "ok: config "+conf) {
		t.Errorf("nfr check: %q", out)
	}
}

// Without privileges, the capture says what is missing and how to grant it.
func TestCaptureWithoutPrivilege(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop to nobody")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("no setpriv")
	}
	dir, err := os.MkdirTemp("", "nfr-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	for _, name := range []string{"nfr-capture", "nfr-check"} {
		b := mustRead(t, testenv.Bin(t, name))
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	as := func(args ...string) (string, int) {
		cmd := exec.Command(setpriv, append([]string{"--reuid", "65534", "--regid", "65534", "--clear-groups"}, args...)...)
		cmd.Env = []string{"NFR_CONFIG=/dev/null", "PATH=/usr/bin:/bin"}
		out, err := runTimeout(cmd, 10*time.Second)
		return out, cmd.ProcessState.ExitCode() + map[bool]int{true: 0, false: 0}[err == nil]
	}
	out, code := as(filepath.Join(dir, "nfr-capture"), "-i", "lo")
	if code != 1 || !strings.Contains(out, "CAP_NET_RAW") || !strings.Contains(out, "setcap") {
		t.Errorf("unprivileged capture: exit %d, %q", code, out)
	}
	out, code = as(filepath.Join(dir, "nfr-check"), "-i", "lo")
	if code != 1 || !strings.Contains(out, "missing CAP_NET_RAW") {
		t.Errorf("unprivileged nfr-check: exit %d, %q", code, out)
	}
}

// nfr-engine keys without a subcommand prints usage and opens no database.
func TestEngineKeysUsage(t *testing.T) {
	db := filepath.Join(t.TempDir(), "engine.db")
	for _, args := range [][]string{{"--db", db, "keys"}, {"--db", db, "keys", "frob"}} {
		r := testenv.RunBin(t, "nfr-engine", nil, args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, "nfr-engine: hint: run: nfr-engine --help") {
			t.Errorf("%v: exit %d, %q", args, r.Code, r.Stderr)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a usage error created the database")
	}
}

// make install points the installed config.yml at the installed scope.yml,
// and the programs then use it.
func TestInstallUsesInstalledScope(t *testing.T) {
	root := testenv.Root(t)
	dest := t.TempDir()
	cmd := exec.Command("make", "-s", "install", "DESTDIR="+dest, "PREFIX=/usr")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	conf := filepath.Join(dest, "etc", "nfr", "config.yml")
	r := testenv.RunBin(t, "nfr-check", nil, "-c", conf, "-i", "lo")
	if want := "ok: scope " + filepath.Join(dest, "etc", "nfr", "scope.yml"); !strings.Contains(r.Stdout, want) {
		t.Errorf("the installed config does not use the installed scope: %q, want %q", r.Stdout, want)
	}
	if st, err := os.Stat(conf); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("installed config.yml: %v, mode %v", err, st.Mode())
	}
}

// nfr-alert (issue 12), when it sits next to the other programs, ends the
// pipeline; it is skipped otherwise.
func TestWrapperWiresAlertWhenPresent(t *testing.T) {
	dir := t.TempDir()
	bins := family(t)
	for _, p := range []string{"nfr-capture", "nfr-scope", "nfr-score", "nfr-check"} {
		if err := os.Symlink(filepath.Join(bins, p), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	// A stand-in that passes alerts through, as nfr-alert does.
	writeFile(t, dir, "nfr-alert", []byte("#!/bin/sh\nexec cat\n"))
	os.Chmod(filepath.Join(dir, "nfr-alert"), 0o755)
	// nfr-alert needs outputs to deliver to; without alerts.outputs it is
	// not wired.
	conf := writeFile(t, dir, "config.yml", []byte("alerts:\n  queue: "+filepath.Join(dir, "queue")+
		"\n  outputs:\n    - {url: \"file:"+filepath.Join(dir, "alerts.cef")+"\", format: cef}\n"))
	env := []string{"PATH=" + dir + ":/usr/bin:/bin", "NFR_CONFIG=" + conf, "NFR_API_KEY="}
	wrapper := filepath.Join(testenv.Root(t), "scripts", "nfr")
	out, _, code := testenv.Run(t, wrapper, nil, env, "-n", "read", demoPcap(t))
	if want := "nfr-capture -r " + demoPcap(t) + " | nfr-scope | nfr-score | nfr-alert >&2"; code != 0 || strings.TrimSpace(out) != want {
		t.Errorf("with nfr-alert: %q, want %q", out, want)
	}
	_, alerts, code := testenv.Run(t, wrapper, nil, env, "read", demoPcap(t))
	if code != 0 || !strings.Contains(alerts, `{"type":"alert"`) {
		t.Errorf("through nfr-alert: exit %d, %.200q", code, alerts)
	}
	os.Remove(filepath.Join(dir, "nfr-alert"))
	out, _, _ = testenv.Run(t, wrapper, nil, env, "-n", "read", demoPcap(t))
	if strings.Contains(out, "nfr-alert") {
		t.Errorf("without nfr-alert: %q", out)
	}
}

// nfr-capture takes config.yml's network section itself: a block-style
// list (which the wrapper's old awk reader dropped) included.
func TestCaptureReadsNetworkSection(t *testing.T) {
	dir := t.TempDir()
	conf := writeFile(t, dir, "config.yml", []byte("network:\n  types:\n    - ip\n"))
	r := testenv.RunBin(t, "nfr-capture", nil, "-c", conf, "-r", demoPcap(t))
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	for _, l := range lines {
		if !strings.HasPrefix(l, `{"type":"ip"`) {
			t.Fatalf("network.types [ip], yet: %.120s", l)
		}
	}
	t.Logf("%d ip events, nothing else", len(lines))
	// The command line wins over the file.
	r = testenv.RunBin(t, "nfr-capture", nil, "-c", conf, "-t", "dns", "-r", demoPcap(t))
	if !strings.HasPrefix(r.Stdout, `{"type":"dns"`) {
		t.Errorf("-t dns over network.types [ip]: %.120s", r.Stdout)
	}
	conf = writeFile(t, dir, "config.yml", []byte("network:\n  interface: nfr-nosuch0\n"))
	r = testenv.RunBin(t, "nfr-capture", nil, "-c", conf)
	if r.Code != 1 || !strings.Contains(r.Stderr, "nfr-nosuch0") {
		t.Errorf("network.interface: exit %d, %q", r.Code, r.Stderr)
	}
}

// log.file and alerts.file name files: diagnostics and alerts land there,
// nothing on the terminal.
func TestWrapperLogAndAlertFiles(t *testing.T) {
	dir := t.TempDir()
	eve := writeFile(t, dir, "eve.json", []byte("{damaged\n"+`{"timestamp":"2020-01-01T00:00:00.000000+0000","event_type":"dns","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","dns":{"type":"query","rrname":"example.com","rrtype":"A"}}`+"\n"))
	conf := writeFile(t, dir, "config.yml", []byte("log:\n  file: nfr.log\nalerts:\n  file: alerts.json\n"))
	stdout, stderr, code := nfrIn(t, nil, "-c", conf, "read", demoPcap(t), eve)
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	logText := string(mustRead(t, filepath.Join(dir, "nfr.log")))
	alerts := string(mustRead(t, filepath.Join(dir, "alerts.json")))
	if !strings.Contains(logText, "nfr-parse-suricata: warning:") || strings.Contains(logText, `"type":"alert"`) {
		t.Errorf("log.file: %q", logText)
	}
	if n := strings.Count(alerts, `{"type":"alert"`); n == 0 || n != strings.Count(alerts, "\n") {
		t.Errorf("alerts.file holds %d alerts in %d lines", n, strings.Count(alerts, "\n"))
	}
}

// HUP sent to the wrapper is a reload: the pipeline goes on, and ends
// normally at the end of its input.
func TestWrapperHangupIsAReload(t *testing.T) {
	cmd, pw, out, alerts := startRead(t)
	pw.Write(mustRead(t, demoPcap(t))[:24]) // a pcap header: the kind is known
	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(500 * time.Millisecond)
	if _, err := pw.Write(mustRead(t, demoPcap(t))[24:]); err != nil {
		t.Fatalf("the pipeline stopped reading after HUP: %v\n%s", err, out.String())
	}
	pw.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after HUP: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("nfr read did not end: %s", out.String())
	}
	if !strings.Contains(alerts.String(), `{"type":"alert"`) {
		t.Errorf("no alerts after the reload: %s", out.String())
	}
	if !strings.Contains(out.String(), "nfr-scope: reloaded") {
		t.Errorf("nfr-scope did not reload: %s", out.String())
	}
}
