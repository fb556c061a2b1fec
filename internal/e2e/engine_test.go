package e2e

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

// buildTool builds a Go program of the repository that is not a cmd/ binary.
func buildTool(t *testing.T, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, "./"+pkg)
	cmd.Dir = testenv.Root(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// startEngine runs nfr-engine on a free loopback port with a new key and
// returns its base URL and the key; the engine is stopped at cleanup.
func startEngine(t *testing.T) (url, key string) {
	t.Helper()
	engine := testenv.Bin(t, "nfr-engine")
	db := filepath.Join(t.TempDir(), "engine.db")
	out, err := exec.Command(engine, "--db", db, "keys", "add", "e2e").Output()
	if err != nil {
		t.Fatalf("nfr-engine keys add: %v", err)
	}
	key = strings.TrimSpace(string(out))
	cmd := exec.Command(engine, "--db", db, "--listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("nfr-engine did not stop within 10s of SIGINT")
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "listening on "); ok {
				u, _, _ := strings.Cut(rest, ",")
				ready <- u
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case url = <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("nfr-engine did not report its address")
	}
	return url, key
}

// alertSet reduces alerts to "eventType threat name" lines, sorted, where
// name is the query, SNI, host or destination the alert is about.
func alertSet(t *testing.T, out []byte) []string {
	t.Helper()
	var set []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, event.MaxLine)
	for sc.Scan() {
		var e event.Event
		if err := event.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("bad alert %s: %v", sc.Bytes(), err)
		}
		if e.Type != event.TypeAlert {
			t.Fatalf("not an alert: %s", sc.Bytes())
		}
		// Every alert says why and which incident it belongs to, whether
		// nfr-score wrote it or nfr-engine served it.
		if e.Reason == "" || e.ID == "" || e.Count < 1 {
			t.Errorf("alert without reason, id or count: %s", sc.Bytes())
		}
		// An update repeats an incident already listed; nfr-score writes
		// the updates at the end of its input, a running nfr-engine when
		// the incident closes, so only first alerts are compared.
		if e.Count > 1 {
			continue
		}
		name := e.Query
		if name == "" {
			name = e.SNI
		}
		if name == "" {
			name = e.Host
		}
		if name == "" && e.DestIP.IsValid() {
			name = e.DestIP.String()
		}
		for id := range e.Threats {
			set = append(set, e.EventType+" "+id+" "+name)
		}
	}
	sort.Strings(set)
	return set
}

// TestSubmitToEngineMatchesScore sends generated threat traffic through
// nfr-submit to a running nfr-engine and checks that the alerts that come
// back are those nfr-score raises locally on the same events, each once.
func TestSubmitToEngineMatchesScore(t *testing.T) {
	gen := buildTool(t, "scripts/genthreats")
	events := filepath.Join(t.TempDir(), "events.ndjson")
	scenarios := "benign,dga,dns-tunnel,oast,imposter,miner,tor,telegram-bot,scan"
	if out, err := exec.Command(gen, "-events", "-scenario", scenarios, "-o", events).CombinedOutput(); err != nil {
		t.Fatalf("genthreats: %v\n%s", err, out)
	}
	local := pipe(t, events, nil, testenv.Bin(t, "nfr-score"))
	want := alertSet(t, local)
	if len(want) < 5 {
		t.Fatalf("nfr-score raised only %d alerts on the generated threats: %q", len(want), want)
	}

	url, key := startEngine(t)
	spool := filepath.Join(t.TempDir(), "spool")
	remote := pipe(t, events, []string{"NFR_API_KEY=" + key},
		testenv.Bin(t, "nfr-submit"), "--host", url, "--spool", spool, "--poll-interval", "200ms", "--wait", "8s")
	sameAlerts(t, "nfr-submit into nfr-engine", want, alertSet(t, remote))
	if bytes.Contains(remote, []byte(key)) {
		t.Error("the API key appears in the output")
	}
}

// pipe runs bin with args, stdin from file, extra env, and returns stdout.
func pipe(t *testing.T, file string, env []string, bin string, args ...string) []byte {
	t.Helper()
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = in
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(bin), err, stderr.String())
	}
	return out
}

// TestReadAgainstEngine runs `nfr read` on the bundled capture twice: with
// no key (nfr-score scores locally) and with config.yml pointing at a
// running nfr-engine (nfr-submit sends, and polls the alerts back). The
// alerts on stderr must be the same.
func TestReadAgainstEngine(t *testing.T) {
	bins := testenv.BinDir(t, "nfr-capture", "nfr-scope", "nfr-score", "nfr-submit", "nfr-engine", "nfr-check")
	demo := filepath.Join(testenv.Root(t), "testdata", "demo.pcap")
	url, key := startEngine(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.yml")
	os.WriteFile(conf, []byte("alphasoc:\n  host: "+url+"\n  api_key: "+key+"\nsubmit:\n  spool: "+filepath.Join(dir, "spool")+"\n"), 0o600)

	run := func(env ...string) []string {
		cmd := exec.Command(filepath.Join(testenv.Root(t), "scripts", "nfr"), "read", demo)
		cmd.Env = append([]string{"PATH=" + bins + ":" + os.Getenv("PATH"), "HOME=" + dir}, env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("nfr read %v: %v\n%s", env, err, stderr.String())
		}
		if stdout.Len() > 0 {
			t.Errorf("nfr read wrote to stdout; alerts belong on stderr: %q", stdout.String())
		}
		var alerts []byte
		for _, l := range bytes.Split(stderr.Bytes(), []byte("\n")) {
			if bytes.HasPrefix(l, []byte("{")) {
				alerts = append(append(alerts, l...), '\n')
			}
		}
		return alertSet(t, alerts)
	}
	want := run()
	got := run("NFR_CONFIG=" + conf)
	if len(want) < 10 {
		t.Fatalf("nfr read of the demo capture raised only %d alerts locally", len(want))
	}
	similarAlerts(t, "nfr read through nfr-engine", want, got)
}

// sameAlerts compares alerts that went through the API with nfr-score's on
// the same events. The API takes events in batches per type, so a tls or
// ip batch may reach the engine before the dns batch that resolved its
// name; nfr-engine holds events for score.reorder and scores them in time
// order, as nfr-score does, so the first alerts of every incident must be
// the same.
func sameAlerts(t *testing.T, what string, want, got []string) {
	t.Helper()
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Errorf("%s: alerts differ from nfr-score's:\n%s", what, diffLines(want, got))
	}
}

// similarAlerts compares alerts that went through the API with nfr-score's
// on the same capture. Events of one connection carry the same ts (a
// flow's ip event and its tls event both start at the SYN), and among
// events of equal ts arrival order decides which one carries the alert:
// nfr-capture writes the tls event first, but the API takes events in
// batches per type. So a threat that joins types (a DoH resolver looked up
// and connected to) may be raised on another event of the exchange. Every
// threat raised locally must be raised through the API too, and no other;
// and the threats raised on dns events alone, on either side, must give
// identical alerts.
func similarAlerts(t *testing.T, what string, want, got []string) {
	t.Helper()
	byThreat := func(set []string) map[string][]string {
		m := map[string][]string{}
		for _, a := range set {
			f := strings.Fields(a)
			m[f[1]] = append(m[f[1]], a)
		}
		return m
	}
	dnsOnly := func(as []string) bool {
		for _, a := range as {
			if !strings.HasPrefix(a, "dns ") {
				return false
			}
		}
		return true
	}
	w, g := byThreat(want), byThreat(got)
	for id, ws := range w {
		gs, ok := g[id]
		switch {
		case !ok:
			t.Errorf("%s: no %s alert; nfr-score raised %q", what, id, ws)
		case dnsOnly(ws) && dnsOnly(gs) && strings.Join(ws, "\n") != strings.Join(gs, "\n"):
			t.Errorf("%s: %s alerts differ from nfr-score's:\n%s", what, id, diffLines(ws, gs))
		}
	}
	for id, gs := range g {
		if _, ok := w[id]; !ok {
			t.Errorf("%s raised %s, which nfr-score did not: %q", what, id, gs)
		}
	}
}
