package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/faultserver"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/spool"
)

const testKey = "e2e-key-0001"

type env struct {
	t      *testing.T
	bin    string
	dir    string
	config string
	spool  string
	srv    *faultserver.Server
}

// newEnv starts a fault server and writes a config.yml with short intervals
// so the tests run fast.
func newEnv(t *testing.T, extra string) *env {
	t.Helper()
	e := &env{t: t, bin: testenv.Bin(t, "nfr-submit"), dir: t.TempDir(), srv: faultserver.New()}
	e.srv.Keys[testKey] = true
	e.srv.Threats["c2"] = api.ThreatInfo{Title: "C2 communication", Severity: 5}
	e.srv.PageSize = 7
	// Every event whose query ends in 7 raises an alert.
	e.srv.Rule = func(typ string, line []byte) *api.Alert {
		if typ == "dns" && bytes.Contains(line, []byte(`7.example.com"`)) {
			return &api.Alert{EventType: typ, Event: append([]byte(nil), line...), Threats: []string{"c2"}}
		}
		return nil
	}
	if err := e.srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.srv.Stop)
	e.spool = filepath.Join(e.dir, "spool")
	e.config = filepath.Join(e.dir, "config.yml")
	// submit keys: short intervals so the tests run fast; extra lines
	// ("  key: value") override or add to them.
	keys := []string{"spool", "batch_events", "batch_age", "timeout", "retry_min", "retry_max", "poll_interval"}
	vals := map[string]string{"spool": e.spool, "batch_events": "100", "batch_age": "50ms", "timeout": "500ms",
		"retry_min": "10ms", "retry_max": "100ms", "poll_interval": "50ms"}
	for _, l := range strings.Split(strings.TrimSpace(extra), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
			if _, seen := vals[k]; !seen {
				keys = append(keys, k)
			}
			vals[k] = strings.TrimSpace(v)
		}
	}
	cfg := fmt.Sprintf("alphasoc:\n  host: %s\n  api_key: %s\nsubmit:\n", e.srv.URL(), testKey)
	for _, k := range keys {
		cfg += fmt.Sprintf("  %s: %s\n", k, vals[k])
	}
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) cmd(stdin io.Reader, args ...string) (*exec.Cmd, *bytes.Buffer, *testenv.SyncBuffer) {
	cmd := exec.Command(e.bin, append([]string{"-c", e.config}, args...)...)
	cmd.Env = append(os.Environ(), "NFR_API_KEY=")
	cmd.Stdin = stdin
	var out bytes.Buffer
	errb := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = &out, errb
	return cmd, &out, errb
}

func (e *env) run(stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	cmd, out, errb := e.cmd(stdin, args...)
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func events(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, `{"type":"dns","v":1,"ts":"2026-11-27T07:00:00Z","srcIP":"10.0.0.1","query":"q%d.example.com","qtype":"A"}`+"\n", i)
		if i%10 == 3 {
			fmt.Fprintf(&b, `{"type":"ip","v":1,"ts":"2026-11-27T07:00:00Z","srcIP":"10.0.0.1","destIP":"192.0.2.%d","destPort":443,"proto":"tcp"}`+"\n", i%250)
		}
	}
	return b.String()
}

// exactlyOnce checks the server holds every dns event of [0, n) once.
func (e *env) exactlyOnce(n int) {
	e.t.Helper()
	seen := map[string]int{}
	for _, l := range e.srv.Events("dns") {
		var ev struct{ Query string }
		json.Unmarshal(l, &ev)
		seen[ev.Query]++
	}
	missing, twice := 0, 0
	for i := range n {
		switch seen[fmt.Sprintf("q%d.example.com", i)] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	if missing > 0 || twice > 0 || len(seen) != n {
		e.t.Fatalf("server has %d distinct dns events of %d: %d missing, %d more than once", len(seen), n, missing, twice)
	}
}

// alertsOnce checks lines hold every alert of [0, n) once.
func alertsOnce(t *testing.T, lines string, n int) {
	t.Helper()
	seen := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
		if l == "" {
			continue
		}
		var a struct{ Type, Query, EventType string }
		if err := json.Unmarshal([]byte(l), &a); err != nil || a.Type != "alert" || a.EventType != "dns" {
			t.Fatalf("bad alert line %q: %v", l, err)
		}
		seen[a.Query]++
	}
	want := 0
	for i := range n {
		if i%10 == 7 {
			want++
			if seen[fmt.Sprintf("q%d.example.com", i)] != 1 {
				t.Fatalf("alert for q%d printed %d times", i, seen[fmt.Sprintf("q%d.example.com", i)])
			}
		}
	}
	if len(seen) != want {
		t.Fatalf("%d distinct alerts, want %d", len(seen), want)
	}
}

func TestSubmit(t *testing.T) {
	e := newEnv(t, "")
	bad := `{"type":"dns",broken}` + "\n" + `{"type":"dns","v":1,"query":}` + "\n"
	code, out, errs := e.run(strings.NewReader(events(0, 1000)+"not json\n"+`{"type":"alert","v":1}`+"\n"+bad), "--wait", "300ms")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	e.exactlyOnce(1000)
	alertsOnce(t, out, 1000)
	for _, want := range []string{"warning: -:1101: not a JSON object", "not sent, the API takes only dns, ip, http and tls events: 1 alert",
		"malformed (more are counted and summed up at exit)", "warning: the server rejected 2 events: 2 malformed"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if n := e.srv.Count("ip"); n != 100 {
		t.Errorf("%d ip events, want 100", n)
	}
	// A second run prints no alert again: the cursor was kept.
	code, out, errs = e.run(strings.NewReader(""), "--wait", "200ms")
	if code != 0 || out != "" {
		t.Fatalf("second run: exit %d, alerts %q\n%s", code, out, errs)
	}
}

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prefix string
		f      faultserver.Fault
		n      int
		extra  string
	}{
		{"500s", "/v1/", faultserver.Fault{Kind: faultserver.Status, Code: 500}, 5, ""},
		{"503 with Retry-After", "/v1/events", faultserver.Fault{Kind: faultserver.Status, Code: 503, RetryAfter: "1"}, 2, ""},
		{"429 with Retry-After", "/v1/", faultserver.Fault{Kind: faultserver.Status, Code: 429, RetryAfter: "1"}, 2, ""},
		{"reset connections", "/v1/", faultserver.Fault{Kind: faultserver.Reset}, 5, ""},
		{"slow past the timeout", "/v1/events", faultserver.Fault{Kind: faultserver.Slow, Delay: 2 * time.Second}, 2, ""},
		{"malformed answers", "/v1/", faultserver.Fault{Kind: faultserver.Malformed}, 5, ""},
		{"answers trickling past the timeout", "/v1/", faultserver.Fault{Kind: faultserver.Trickle, Delay: 100 * time.Millisecond}, 3, ""},
		{"replies lost after the work", "/v1/events", faultserver.Fault{Kind: faultserver.LoseReply}, 4, ""},
		{"gzip bodies", "/v1/events", faultserver.Fault{Kind: faultserver.LoseReply}, 1, "  gzip: true\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.extra)
			e.srv.Inject(tc.prefix, tc.f, tc.n)
			code, out, errs := e.run(strings.NewReader(events(0, 500)), "--wait", "300ms")
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, errs)
			}
			e.exactlyOnce(500)
			alertsOnce(t, out, 500)
			if !strings.Contains(errs, "retrying in") {
				t.Errorf("the failure was not reported:\n%s", errs)
			}
			if tc.f.Kind == faultserver.LoseReply && e.srv.Replays() == 0 {
				t.Errorf("no replay reached the server")
			}
		})
	}
}

// TestServerRestart stops the server while input is flowing and starts it
// again on the same address.
func TestServerRestart(t *testing.T) {
	e := newEnv(t, "")
	pr, pw := io.Pipe()
	cmd, out, errb := e.cmd(pr, "--wait", "300ms")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(pw, events(0, 300))
	waitFor(t, func() bool { return e.srv.Count("dns") > 0 })
	e.srv.Stop()
	io.WriteString(pw, events(300, 800))
	time.Sleep(200 * time.Millisecond)
	if err := e.srv.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(pw, events(800, 1000))
	pw.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, errb)
	}
	e.exactlyOnce(1000)
	alertsOnce(t, out.String(), 1000)
	if !strings.Contains(errb.String(), "sending again after") {
		t.Errorf("no recovery message:\n%s", errb)
	}
}

// TestKill9 kills nfr-submit while the server holds a batch, lets the
// server finish that batch (so the replay must be dropped), and starts
// nfr-submit again on the same spool.
func TestKill9(t *testing.T) {
	for _, nth := range []int{1, 3, 6} {
		t.Run(fmt.Sprintf("batch %d", nth), func(t *testing.T) {
			e := newEnv(t, "  connections: 1\n")
			held := make(chan string, 1)
			release := make(chan struct{})
			if nth > 1 {
				e.srv.Inject("/v1/events", faultserver.Fault{Kind: faultserver.Slow}, nth-1)
			}
			e.srv.Inject("/v1/events", faultserver.Fault{Kind: faultserver.Hold, Held: held, Release: release}, 1)
			cmd, _, _ := e.cmd(strings.NewReader(events(0, 1000)), "--no-alerts")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-held:
			case <-time.After(10 * time.Second):
				t.Fatal("no batch reached the server")
			}
			// A killed process loses what it read from the pipe and had not
			// yet written (at most one read); kill once all input is taken.
			waitFor(t, func() bool { return e.taken() == 1000 })
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			close(release)
			code, _, errs := e.run(strings.NewReader(""), "--no-alerts")
			if code != 0 {
				t.Fatalf("restart: exit %d\n%s", code, errs)
			}
			e.exactlyOnce(1000)
			if e.srv.Replays() == 0 {
				t.Errorf("the held batch was not replayed with its id")
			}
		})
	}
}

// TestKill9Alerts kills nfr-submit while an alert poll is held, with
// alerts going to a file, and checks a restart prints each alert once.
func TestKill9Alerts(t *testing.T) {
	e := newEnv(t, "")
	if code, _, errs := e.run(strings.NewReader(events(0, 500)), "--no-alerts"); code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	alerts := filepath.Join(e.dir, "alerts.json")
	for _, nth := range []int{2, 4} {
		held := make(chan string, 1)
		release := make(chan struct{})
		e.srv.Inject("/v1/alerts", faultserver.Fault{Kind: faultserver.Slow}, nth-1)
		e.srv.Inject("/v1/alerts", faultserver.Fault{Kind: faultserver.Hold, Held: held, Release: release}, 1)
		cmd, _, _ := e.cmd(nil, "--alerts-only", "-o", alerts)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		<-held
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		close(release)
	}
	if code, _, errs := e.run(strings.NewReader(""), "-o", alerts, "--wait", "200ms"); code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	b, _ := os.ReadFile(alerts)
	alertsOnce(t, string(b), 500)
}

func TestKeyRefused(t *testing.T) {
	e := newEnv(t, "")
	cmd, _, errb := e.cmd(strings.NewReader(events(0, 10)))
	cmd.Env = append(cmd.Env, "NFR_API_KEY=not-the-key")
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1\n%s", err, errb)
	}
	for _, want := range []string{"nfr-submit: error: the server refused the API key", "nfr-submit: hint: run: nfr account status"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb)
		}
	}
	if strings.Contains(errb.String(), "not-the-key") {
		t.Errorf("the key is printed:\n%s", errb)
	}
	// The events stay in the spool for when the key is fixed.
	if code, _, errs := e.run(strings.NewReader(""), "--no-alerts"); code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	e.exactlyOnce(10)
}

func TestUsage(t *testing.T) {
	e := newEnv(t, "")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--no-alerts", "--alerts-only"}, 2, "exclude each other"},
		{[]string{"--bogus"}, 2, "hint: run: nfr-submit --help"},
		{[]string{"--version"}, 0, ""},
		{[]string{"--help"}, 0, ""},
		{[]string{"--host", "ftp://x"}, 2, "not an http or https URL"},
	} {
		code, _, errs := e.run(strings.NewReader(""), tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errs)
		}
	}
	// A second nfr-submit on the same spool is told how to use another;
	// the test holds the lock as a running one would.
	os.MkdirAll(e.spool, 0o700)
	held, err := spool.Lock(filepath.Join(e.spool, "lock"))
	if err != nil {
		t.Fatal(err)
	}
	code, _, errs := e.run(strings.NewReader(""), "--no-alerts")
	held.Close()
	if code != 1 || !strings.Contains(errs, "is in use by another process") || !strings.Contains(errs, "hint: set submit.spool in") {
		t.Errorf("spool in use: exit %d\n%s", code, errs)
	}
	bad := filepath.Join(e.dir, "bad.yml")
	os.WriteFile(bad, []byte("submit:\n  fsync: sometimes\n"), 0o600)
	cmd := exec.Command(e.bin, "-c", bad)
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(b), "submit.fsync") {
		t.Errorf("bad config: %v %s", err, b)
	}
}

// TestFullDisk puts the spool on a 64 KiB tmpfs while the server is down:
// nfr-submit must stay alive, stop reading, say what it could not store,
// and deliver everything once the server is back.
func TestFullDisk(t *testing.T) {
	e := newEnv(t, "")
	if err := os.MkdirAll(e.spool, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", e.spool, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs for the full-disk test (needs root or CAP_SYS_ADMIN): %v", err)
	}
	defer syscall.Unmount(e.spool, syscall.MNT_DETACH)
	e.srv.Stop()
	pr, pw := io.Pipe()
	cmd, out, errb := e.cmd(pr, "--wait", "300ms")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	written := make(chan error, 1)
	go func() {
		// ~1.1 MB: far more than the disk (64 KiB) and all the buffers on
		// the way (pipe, copy, read buffer) can hold, so the writer must wait.
		_, err := io.WriteString(pw, events(0, 10000))
		written <- err
	}()
	waitFor(t, func() bool { return strings.Contains(errb.String(), "no space left on device") })
	select {
	case <-written:
		t.Fatal("nfr-submit read all its input into a full spool")
	case <-time.After(200 * time.Millisecond):
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("nfr-submit died on a full disk: %v", err)
	}
	if err := e.srv.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-written:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Signal(syscall.SIGQUIT) // its goroutines, to see where it stopped reading
		cmd.Wait()
		t.Fatalf("nfr-submit stopped reading with room on the disk\n%s", errb)
	}
	pw.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, errb)
	}
	e.exactlyOnce(10000)
	alertsOnce(t, out.String(), 10000)
	sc := bufio.NewScanner(strings.NewReader(errb.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "cannot store") && !strings.Contains(sc.Text(), "input paused") {
			t.Errorf("unclear message: %s", sc.Text())
		}
	}
}

// taken counts the distinct dns events in the spool or at the server.
func (e *env) taken() int {
	seen := map[string]bool{}
	add := func(l []byte) {
		var ev struct{ Query string }
		if json.Unmarshal(l, &ev) == nil && ev.Query != "" {
			seen[ev.Query] = true
		}
	}
	for _, l := range e.srv.Events("dns") {
		add(l)
	}
	e.eachSpooled(add)
	return len(seen)
}

// eachSpooled calls fn for every dns event line in the spool.
func (e *env) eachSpooled(fn func([]byte)) {
	files, _ := filepath.Glob(filepath.Join(e.spool, "dns-*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		spool.Records(b, fn)
	}
}

// spooledDNS counts the dns events in the spool.
func (e *env) spooledDNS() int {
	n := 0
	e.eachSpooled(func([]byte) { n++ })
	return n
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTLS: an https server with a certificate nobody vouches for is
// refused; trusted through SSL_CERT_FILE, it works.
func TestTLS(t *testing.T) {
	cfg, pemBytes, err := faultserver.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "")
	e.srv.Stop()
	e.srv.TLS = cfg
	if err := e.srv.Start(); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(e.dir, "ca.pem")
	os.WriteFile(ca, pemBytes, 0o644)

	cmd, _, errb := e.cmd(strings.NewReader(events(0, 50)), "--host", e.srv.URL(), "--no-alerts")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return strings.Contains(errb.String(), "certificate")
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if e.srv.Count("dns") != 0 {
		t.Fatal("events went to an untrusted server")
	}
	cmd, _, errb = e.cmd(strings.NewReader(""), "--host", e.srv.URL(), "--no-alerts")
	cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+ca)
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, errb)
	}
	e.exactlyOnce(50)
}

// TestSignals: the first SIGINT does not stop reading (the rest of the
// pipeline is stopping and its last events are on the way); at the end of
// input, sending gets a grace period, and what is left stays in the spool.
func TestSignals(t *testing.T) {
	e := newEnv(t, "")
	pr, pw := io.Pipe()
	cmd, _, errb := e.cmd(pr, "--no-alerts")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(pw, events(0, 100))
	waitFor(t, func() bool { return e.srv.Count("dns") > 0 })
	cmd.Process.Signal(os.Interrupt)
	if _, err := io.WriteString(pw, events(100, 200)); err != nil {
		t.Fatalf("input not read after the first SIGINT: %v", err)
	}
	pw.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, errb)
	}
	e.exactlyOnce(200)

	// Server down: the grace period (timeout, 500ms) ends, the events stay.
	e.srv.Stop()
	cmd, _, errb = e.cmd(strings.NewReader(events(200, 300)), "--no-alerts")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(errb.String(), "retrying in") })
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "110 events not yet accepted; they stay in the spool") {
		t.Fatalf("stopped with the server down: %v\n%s", err, errb)
	}
	e.srv.Start()
	if code, _, errs := e.run(strings.NewReader(events(300, 400)), "--no-alerts"); code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	e.exactlyOnce(400)
}

// TestBackpressure: with the server holding the only connection, a full
// spool (1 MiB) makes nfr-submit stop reading, so the writer of its input
// waits; nothing is dropped, and all arrives once the server answers.
func TestBackpressure(t *testing.T) {
	// A long timeout, so the held request stays held until released.
	e := newEnv(t, "  spool_limit_mb: 1\n  connections: 1\n  timeout: 1m\n  batch_events: 2000\n")
	held := make(chan string, 1)
	release := make(chan struct{})
	e.srv.Inject("/v1/events", faultserver.Fault{Kind: faultserver.Hold, Held: held, Release: release}, 1)
	pr, pw := io.Pipe()
	cmd, _, errb := e.cmd(pr, "--no-alerts")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const n = 30000 // about 3.3 MB
	written := make(chan error, 1)
	go func() {
		_, err := io.WriteString(pw, events(0, n))
		pw.Close()
		written <- err
	}()
	<-held
	var size int64
	waitFor(t, func() bool {
		s := spoolBytes(e.spool)
		stable := s == size && s > 0
		size = s
		time.Sleep(50 * time.Millisecond)
		return stable
	})
	select {
	case <-written:
		t.Fatal("all input was read although the spool is full")
	default:
	}
	if size > 1<<20+64<<10 {
		t.Errorf("the spool holds %d bytes over a 1 MiB limit", size)
	}
	close(release)
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, errb)
	}
	e.exactlyOnce(n)
}

func spoolBytes(dir string) int64 {
	var n int64
	files, _ := filepath.Glob(filepath.Join(dir, "*-*"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// TestTooLarge: a server taking smaller bodies than submit.batch_bytes
// answers 413; batches are split in halves (ids derived from theirs) until
// they pass, and a single event too large for it is kept in rejected/.
func TestTooLarge(t *testing.T) {
	e := newEnv(t, "")
	e.srv.MaxBody = 3000 // about 27 events; batches hold up to 100
	huge := `{"type":"dns","v":1,"query":"` + strings.Repeat("x", 4000) + `.example"}` + "\n"
	code, _, errs := e.run(strings.NewReader(events(0, 1000)+huge), "--no-alerts")
	if code != 1 { // one event could not be delivered
		t.Fatalf("exit %d\n%s", code, errs)
	}
	e.exactlyOnce(1000)
	if !strings.Contains(errs, "sending them in halves") || !strings.Contains(errs, "kept in") {
		t.Errorf("stderr:\n%s", errs)
	}
	rejected, _ := filepath.Glob(filepath.Join(e.spool, "rejected", "dns-*.ready"))
	if len(rejected) != 1 {
		t.Fatalf("rejected/ holds %v, want the one batch with the huge event", rejected)
	}
}
