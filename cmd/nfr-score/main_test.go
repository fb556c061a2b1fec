package main

import (
	"bufio"
	"bytes"
	"encoding/gob"
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

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/scripts/genthreats/traffic"
)

func events(t *testing.T, names ...string) []byte {
	var ss []traffic.Scenario
	for _, n := range names {
		s, ok := traffic.Find(n)
		if !ok {
			t.Fatalf("no scenario %s", n)
		}
		ss = append(ss, s)
	}
	g := traffic.New(1)
	g.Play(ss)
	var b bytes.Buffer
	if err := g.WriteEvents(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func runBin(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return testenv.Run(t, testenv.Bin(t, "nfr-score"), stdin, []string{"NFR_CONFIG=" + filepath.Join(testenv.Root(t), "config.yml")}, args...)
}

func TestAlertsFromGeneratedEvents(t *testing.T) {
	in := events(t, "benign", "dga", "miner", "scan")
	out, errs, code := runBin(t, in, "--stats")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var a struct {
			Type      string                    `json:"type"`
			EventType string                    `json:"eventType"`
			Severity  int                       `json:"severity"`
			Threats   map[string]map[string]any `json:"threats"`
			Reason    string                    `json:"reason"`
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("bad alert line %q: %v", line, err)
		}
		if a.Type != "alert" || a.EventType == "" || a.Severity < 1 || a.Reason == "" {
			t.Errorf("incomplete alert: %s", line)
		}
		for id := range a.Threats {
			seen[id] = true
		}
	}
	for _, id := range []string{"dga", "cryptomining", "scan_port"} {
		if !seen[id] {
			t.Errorf("no %s alert in:\n%s", id, out)
		}
	}
	if !strings.Contains(errs, "nfr-score: ") || !strings.Contains(errs, "events") {
		t.Errorf("--stats printed %q", errs)
	}
}

func TestBadLinesAreCounted(t *testing.T) {
	in := append([]byte("not json\n{\"type\":\"dns\",\"ts\":\"yesterday\"}\n"), events(t, "vpn")...)
	out, errs, code := runBin(t, in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "nfr-score: warning: -:1: ") || !strings.Contains(errs, "-:2: ") || !strings.Contains(errs, "2 bad lines skipped") {
		t.Errorf("stderr %q", errs)
	}
	if !strings.Contains(out, `"vpn"`) {
		t.Errorf("no vpn alert after bad lines: %s", out)
	}
}

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--help"}, 0, "Usage:"},
		{[]string{"--version"}, 0, "nfr-score "},
		{[]string{"--list-threats"}, 0, "dns_tunnel"},
		{[]string{"--no-such-flag"}, 2, ""},
		{[]string{"/no/such/file"}, 1, ""},
	} {
		out, errs, code := runBin(t, nil, c.args...)
		if code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", c.args, code, out, errs)
		}
	}
}

func TestConfigErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.yml")
	os.WriteFile(conf, []byte("score:\n  disable: [no_such_threat]\n"), 0o600)
	_, errs, code := runBin(t, nil, "-c", conf)
	if code != 2 || !strings.Contains(errs, "no_such_threat") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	os.WriteFile(conf, []byte("score:\n  suppres: 1h\n"), 0o600)
	_, errs, code = runBin(t, nil, "-c", conf)
	if code != 2 || !strings.Contains(errs, "config.yml:2") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

// TestFeedAndState runs the binary with a feed file and a state file, twice.
func TestFeedAndState(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "c2.txt")
	os.WriteFile(feed, []byte("# test feed\n"+traffic.C2Domain+"\n"+traffic.C2Addr+"\n"), 0o644)
	state := filepath.Join(dir, "state")
	out, errs, code := runBin(t, events(t, "c2"), "--feed", feed, "--state", state)
	if code != 0 || !strings.Contains(out, `"c2"`) {
		t.Fatalf("exit %d, no c2 alert: %s %s", code, out, errs)
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("state not written: %v", err)
	}
	// The second run loads the state; the same traffic folds into the
	// open incidents: no new alert, one update per incident with its id.
	first := alertIDs(t, out)
	out, errs, code = runBin(t, events(t, "c2"), "--feed", feed, "--state", state)
	if code != 0 {
		t.Errorf("second run: exit %d, %s", code, errs)
	}
	for id, n := range alertIDs(t, out) {
		if first[id] == 0 || n <= 1 {
			t.Errorf("second run: alert %s count %d is not an update of the first run's incidents %v", id, n, first)
		}
	}
	os.WriteFile(state, []byte("garbage"), 0o644)
	_, errs, code = runBin(t, nil, "--state", state)
	if code != 1 || !strings.Contains(errs, "state") || !strings.Contains(errs, "remove it (rm "+state+")") {
		t.Errorf("garbage state: exit %d, %s", code, errs)
	}
}

// TestReloadOnSIGHUP keeps nfr-score reading from a pipe, changes its feed,
// sends SIGHUP and checks that the next event matches the new feed; then
// the first SIGINT lets it drain its input to the end.
func TestReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "feed.txt")
	os.WriteFile(feed, []byte("nothing.example\n"), 0o644)
	conf := filepath.Join(dir, "config.yml")
	os.WriteFile(conf, []byte("score:\n  feeds:\n    - file: feed.txt\n"), 0o600)
	cmd := exec.Command(testenv.Bin(t, "nfr-score"), "-c", conf, "--line-buffered")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := cmd.StdoutPipe()
	var errs bytes.Buffer
	cmd.Stderr = &errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	n := 0
	dns := func(q string) string { // from a new source each time: no suppression
		n++
		return fmt.Sprintf(`{"type":"dns","ts":"2026-11-02T09:00:00Z","srcIP":"10.0.%d.%d","destIP":"10.0.0.2","destPort":53,"proto":"udp","query":"%s","qtype":"A"}`+"\n", n/250, n%250+1, q)
	}
	// An alert from a built-in list says it is up, signal handlers and all.
	io.WriteString(in, dns("x.oast.fun"))
	select {
	case l := <-lines:
		if !strings.Contains(l, `"oast"`) {
			t.Fatalf("first alert %s", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no first alert; stderr %s", errs.String())
	}
	io.WriteString(in, dns("a.newly-listed.example")) // not listed yet
	os.WriteFile(feed, []byte("newly-listed.example\n"), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	// Wait until the reload is done (it says so on stderr when it takes
	// effect, which is before the next event), feeding events meanwhile.
	var got string
	deadline := time.After(30 * time.Second)
	for got == "" {
		io.WriteString(in, dns("b.newly-listed.example"))
		select {
		case l := <-lines:
			got = l
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no alert after SIGHUP; stderr %s", errs.String())
		}
	}
	if !strings.Contains(got, `.newly-listed.example"`) || !strings.Contains(got, `"c2"`) {
		t.Errorf("alert %s", got)
	}
	cmd.Process.Signal(syscall.SIGINT)
	io.WriteString(in, dns("c.newly-listed.example")) // still read after the first signal
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v; stderr %s", err, errs.String())
	}
	if !strings.Contains(errs.String(), "feeds reloaded") {
		t.Errorf("stderr %q", errs.String())
	}
}

// alertIDs returns the count of each alert of out by incident id.
func alertIDs(t *testing.T, out string) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var a struct {
			ID    string `json:"id"`
			Count int    `json:"count"`
		}
		if err := json.Unmarshal([]byte(l), &a); err != nil || a.ID == "" {
			t.Fatalf("alert without an id: %s", l)
		}
		ids[a.ID] = max(ids[a.ID], a.Count)
	}
	return ids
}

// TestMergesFiles splits the events into a DNS file and a file of the
// rest: `nfr-score dns other`, `nfr-score other dns` and all events on
// stdin give the same alerts.
func TestMergesFiles(t *testing.T) {
	all := events(t, "dga", "scan", "beacon", "miner")
	var dns, other bytes.Buffer
	for _, l := range bytes.SplitAfter(all, []byte("\n")) {
		if bytes.Contains(l, []byte(`"type":"dns"`)) {
			dns.Write(l)
		} else {
			other.Write(l)
		}
	}
	dir := t.TempDir()
	df, of := filepath.Join(dir, "dns.json"), filepath.Join(dir, "other.json")
	os.WriteFile(df, dns.Bytes(), 0o644)
	os.WriteFile(of, other.Bytes(), 0o644)
	want, errs, code := runBin(t, all)
	if code != 0 || want == "" {
		t.Fatalf("stdin: exit %d, %q %s", code, want, errs)
	}
	for _, args := range [][]string{{df, of}, {of, df}} {
		got, errs, code := runBin(t, nil, args...)
		if code != 0 || got != want {
			t.Errorf("%v: exit %d %s\n%s\nwant\n%s", args, code, errs, got, want)
		}
	}
}

// TestExplain: --explain says on stderr which score.allow rule dropped a
// finding and which findings alerted, while stdout keeps the alerts.
func TestExplain(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.yml")
	os.WriteFile(conf, []byte("score:\n  allow:\n    - {threat: oast, domain: \"*.oast.fun\", comment: \"pentest week\"}\n"), 0o600)
	in := `{"type":"dns","ts":"2026-11-02T09:00:00Z","srcIP":"10.0.1.5","destIP":"10.0.0.2","destPort":53,"proto":"udp","query":"a.oast.fun","qtype":"A"}
{"type":"dns","ts":"2026-11-02T09:00:01Z","srcIP":"10.0.1.5","destIP":"10.0.0.2","destPort":53,"proto":"udp","query":"b.oast.site","qtype":"A"}
`
	out, errs, code := runBin(t, []byte(in), "-c", conf, "--explain")
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "b.oast.site") {
		t.Fatalf("exit %d, alerts %q, stderr %s", code, out, errs)
	}
	for _, want := range []string{"a.oast.fun: oast: allowed by score.allow[0] (pentest week)", "b.oast.site: oast: alert, incident "} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

// TestStateOfAnotherVersion: a state file an older nfr-score wrote is not
// a failure: nfr-score warns, starts afresh and rewrites it.
func TestStateOfAnotherVersion(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(struct{ Version int }{Version: 3}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(state, b.Bytes(), 0o600)
	out, errs, code := runBin(t, events(t, "oast"), "--state", state)
	if code != 0 || !strings.Contains(out, `"oast"`) || !strings.Contains(errs, "state version 3") {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errs)
	}
	if _, errs, code = runBin(t, nil, "--state", state); code != 0 || errs != "" {
		t.Errorf("the rewritten state: exit %d, %s", code, errs)
	}
}
