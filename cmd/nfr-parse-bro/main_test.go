package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
)

func runBin(t *testing.T, stdin []byte, args ...string) testenv.Result {
	t.Helper()
	return testenv.RunBin(t, "nfr-parse-bro", stdin, args...)
}

const header = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#open\t2026-11-27-07-00-00\n" +
	"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\tqtype_name\trcode_name\tanswers\tTTLs\n" +
	"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tstring\tstring\tvector[string]\tvector[interval]\n"

func row(i int, q string) string {
	return "1700000000.00000" + string(rune('0'+i%10)) + "\tC1\t10.0.0.1\t5353\t10.0.0.53\t53\tudp\t" + q + "\tA\tNOERROR\t1.2.3.4\t60.000000\n"
}

func TestCLI(t *testing.T) {
	r := runBin(t, nil, "--help")
	if r.Code != 0 || !strings.Contains(r.Stdout, "Usage:") || !strings.Contains(r.Stdout, "--follow") {
		t.Errorf("--help: %+v", r)
	}
	if r := runBin(t, nil, "--version"); r.Code != 0 || !strings.HasPrefix(r.Stdout, "nfr-parse-bro ") {
		t.Errorf("--version: %+v", r)
	}
	if r := runBin(t, nil, "--bogus"); r.Code != 2 || !strings.Contains(r.Stderr, "nfr-parse-bro: hint: run: nfr-parse-bro --help") {
		t.Errorf("bad flag: %+v", r)
	}
	if r := runBin(t, nil, "--type", "weird"); r.Code != 2 {
		t.Errorf("bad --type: %+v", r)
	}
	if r := runBin(t, nil, "--state", "s.json"); r.Code != 2 || !strings.Contains(r.Stderr, "--state needs FILE") {
		t.Errorf("--state on stdin: %+v", r)
	}
	if r := runBin(t, nil, "/nonexistent/dns.log"); r.Code != 1 || !strings.Contains(r.Stderr, "nfr-parse-bro: error: /nonexistent/dns.log: no such file or directory") {
		t.Errorf("missing file: %+v", r)
	}
}

func TestStdinGzipWarningsStrict(t *testing.T) {
	in := header + row(1, "a.example") + "garbage\n" + row(2, "b.example")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(in))
	zw.Close()
	r := runBin(t, gz.Bytes(), "--stats")
	if r.Code != 0 || strings.Count(r.Stdout, "\n") != 2 {
		t.Fatalf("gzip stdin: %+v", r)
	}
	if !strings.Contains(r.Stderr, "nfr-parse-bro: warning: -:10: 1 fields where the #fields header has 12") ||
		!strings.Contains(r.Stderr, "2 events (dns 2), 1 skipped") {
		t.Errorf("stderr: %s", r.Stderr)
	}
	r = runBin(t, []byte(in), "--strict")
	if r.Code != 1 || strings.Count(r.Stdout, "\n") != 1 || !strings.Contains(r.Stderr, "error: -:10:") {
		t.Errorf("--strict: %+v", r)
	}
}

// TestStateResumesTSV runs from cron twice: the second run starts in the
// middle of the log and still maps the columns by the saved header.
func TestStateResumesTSV(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "dns.log")
	state := filepath.Join(dir, "state.json")
	os.WriteFile(log, []byte(header+row(1, "one.example")+row(2, "two.example")), 0o644)
	r := runBin(t, nil, "--state", state, log)
	if r.Code != 0 || strings.Count(r.Stdout, "\n") != 2 {
		t.Fatalf("first run: %+v", r)
	}
	f, _ := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(row(3, "three.example"))
	f.Close()
	r = runBin(t, nil, "--state", state, log)
	if r.Code != 0 || r.Stdout == "" || strings.Count(r.Stdout, "\n") != 1 || !strings.Contains(r.Stdout, `"query":"three.example","qtype":"A"`) {
		t.Fatalf("second run: %+v", r)
	}
	// Rotated and compressed, plus a new log: only the new record.
	b, _ := os.ReadFile(log)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b)
	zw.Close()
	os.WriteFile(log+".1.gz", gz.Bytes(), 0o644)
	os.WriteFile(log, []byte(strings.Replace(header, "07-00-00", "08-00-00", 1)+row(4, "four.example")), 0o644)
	r = runBin(t, nil, "--state", state, log+".1.gz", log)
	if r.Code != 0 || strings.Count(r.Stdout, "\n") != 1 || !strings.Contains(r.Stdout, "four.example") {
		t.Fatalf("after rotation: %+v", r)
	}
}

// TestPipeline runs nfr-parse-bro on the reference logs into jq, as a user
// would, with x509.log given alongside ssl.log.
func TestPipeline(t *testing.T) {
	dir := testenv.SharedPath(t, "zeek-extra", "slips-test9-json")
	bin := testenv.Bin(t, "nfr-parse-bro")
	cmd := exec.Command("bash", "-c", `"$0" "$1/ssl.log" "$1/x509.log" "$1/dns.log" | jq -r 'select(.type == "tls" and .validTo != null) | .validTo' | sort | uniq -c | sort -rn | head -1`, bin, dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Z") {
		t.Errorf("pipeline: %v\n%s", err, out)
	}
}

func TestFollow(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "dns.log")
	state := filepath.Join(dir, "state.json")
	os.WriteFile(log, []byte(header+row(1, "one.example")), 0o644)
	cmd := exec.Command(testenv.Bin(t, "nfr-parse-bro"), "-f", "--poll", "10ms", "--line-buffered", "--state", state, log)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	next := func() string {
		done := make(chan bool, 1)
		var l string
		go func() {
			ok := lines.Scan()
			l = lines.Text()
			done <- ok
		}()
		select {
		case ok := <-done:
			if !ok {
				t.Fatalf("output ended; stderr: %s", stderr.String())
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("no output; stderr: %s", stderr.String())
		}
		return l
	}
	if l := next(); !strings.Contains(l, "one.example") {
		t.Errorf("first: %s", l)
	}
	f, _ := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(row(2, "two.example"))
	f.Close()
	if l := next(); !strings.Contains(l, "two.example") {
		t.Errorf("second: %s", l)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v; %s", err, stderr.String())
	}
	// A restarted follower neither repeats nor skips.
	f, _ = os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(row(3, "three.example"))
	f.Close()
	r := runBin(t, nil, "--state", state, log)
	if strings.Count(r.Stdout, "\n") != 1 || !strings.Contains(r.Stdout, "three.example") {
		t.Errorf("after restart: %+v", r)
	}
}

func TestUnknownKindHint(t *testing.T) {
	in := `{"ts":1.5,"id.orig_h":"10.0.0.1","query":"a.example"}` + "\n"
	r := runBin(t, []byte(in))
	if r.Code != 0 || r.Stdout != "" || !strings.Contains(r.Stderr, "hint: name the kind: nfr-parse-bro --type dns") {
		t.Errorf("no kind: %+v", r)
	}
	r = runBin(t, []byte(in), "-t", "dns")
	if !strings.Contains(r.Stdout, `"query":"a.example"`) {
		t.Errorf("--type dns: %+v", r)
	}
}
