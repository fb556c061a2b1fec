package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
)

func pkgdata(t *testing.T, name string) string {
	return filepath.Join(testenv.Root(t), "pkg", "scope", "testdata", name)
}

// emptyConfig returns an empty config.yml, so that the machine's
// /etc/nfr/config.yml stays out of the tests.
func emptyConfig(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runBin runs nfr-scope with args and stdin, without any config.yml of the
// machine leaking in.
func runBin(t *testing.T, stdin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return testenv.Run(t, testenv.Bin(t, "nfr-scope"), []byte(stdin), append([]string{"NFR_CONFIG=" + emptyConfig(t)}, env...), args...)
}

// TestPipeline runs nfr-scope between cat and jq, as users do, on the
// package's golden events.
func TestPipeline(t *testing.T) {
	bin := testenv.Bin(t, "nfr-scope")
	cmd := exec.Command("bash", "-o", "pipefail", "-c",
		`cat "$1" | "$2" --scope "$3" --stats | jq -c 'select(.type == "dns") | .groups'`,
		"-", pkgdata(t, "events.ndjson"), bin, pkgdata(t, "scope.yml"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	want := strings.Repeat("[\"office\"]\n", 6) + "[\"office\",\"pci\"]\n[\"guest\"]\n" + strings.Repeat("[\"office\"]\n", 4)
	if string(out) != want {
		t.Errorf("groups:\n%s\nwant:\n%s", out, want)
	}
	for _, w := range []string{
		"nfr-scope: warning: -:9: not a JSON object",
		"nfr-scope: read 45, kept 19, dropped 20 (out-of-scope 4, excluded 3, trusted-domain 9, trusted-ip 3, no-source 1), passed 2 (unknown type), bad 4",
	} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
		}
	}
}

func TestFilesAndGolden(t *testing.T) {
	golden, err := os.ReadFile(pkgdata(t, "events.golden"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(string(golden), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			want = append(want, l)
		}
	}
	ev := pkgdata(t, "events.ndjson")
	// A file argument and stdin as "-": the output is the golden twice.
	in, _ := os.ReadFile(ev)
	out, stderr, code := runBin(t, string(in), nil, "--scope", pkgdata(t, "scope.yml"), ev, "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got, w := out, strings.Join(append(want, want...), "\n")+"\n"; got != w {
		t.Errorf("output:\n%s\nwant:\n%s", got, w)
	}
	if !strings.Contains(stderr, ev+":9: not a JSON object") || !strings.Contains(stderr, "-:9: not a JSON object") {
		t.Errorf("warnings do not name the files:\n%s", stderr)
	}
	// A missing file: the others are still read, exit 1.
	_, stderr, code = runBin(t, "", nil, "--scope", pkgdata(t, "scope.yml"), "/nonexistent.json", ev)
	if code != 1 || !strings.Contains(stderr, "nfr-scope: error: open /nonexistent.json") {
		t.Errorf("missing file: exit %d, %s", code, stderr)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(bad, []byte("groups:\n  a:\n    in_scope: [10.0.0.0/8, 10.0.0.0/40]\n    trusted_domain: [x]\n"), 0o644)
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr []string
	}{
		{[]string{"--check", pkgdata(t, "scope.yml")}, 0, pkgdata(t, "scope.yml") + ": ok: 3 groups (guest, office, pci)", nil},
		{[]string{"--check"}, 0, "built-in: ok: 1 groups (default)", nil},
		{[]string{"--check", filepath.Join(testenv.Root(t), "scope.yml")}, 0, "ok: 1 groups (default)", nil},
		{[]string{"--check", bad}, 2, "", []string{
			"nfr-scope: error: " + bad + `:3: bad network "10.0.0.0/40"`,
			"nfr-scope: error: " + bad + `:4: unknown key "trusted_domain"`}},
		{[]string{"--check", filepath.Join(dir, "missing.yml")}, 2, "", []string{"no such file"}},
		{[]string{"--scope", bad}, 2, "", []string{bad + ":3: bad network", "nfr-scope: hint: check it with: nfr-scope --check FILE"}},
		{[]string{"--bogus"}, 2, "", []string{"nfr-scope: error: unknown flag", "nfr-scope: hint: run: nfr-scope --help"}},
		{[]string{"--help"}, 0, "--scope=FILE", nil},
		{[]string{"--version"}, 0, "nfr-scope ", nil},
		{[]string{"--print-default"}, 0, "  default:\n    label: Default", nil},
	}
	for _, tt := range tests {
		out, stderr, code := runBin(t, "", nil, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.stdout) {
			t.Errorf("%q: exit %d, stdout %q; want %d, %q (stderr %s)", tt.args, code, out, tt.code, tt.stdout, stderr)
		}
		for _, w := range tt.stderr {
			if !strings.Contains(stderr, w) {
				t.Errorf("%q: stderr lacks %q:\n%s", tt.args, w, stderr)
			}
		}
	}
}

// TestConfig finds the scope through config.yml: -c, then $NFR_CONFIG;
// scope.file is relative to the config file.
func TestConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "scope.yml"), []byte("groups:\n  lab:\n    in_scope: [8.8.8.0/24]\n"), 0o644)
	cfg := filepath.Join(dir, "config.yml")
	os.WriteFile(cfg, []byte("scope:\n  file: scope.yml\n"), 0o644)
	line := `{"type":"dns","srcIP":"8.8.8.8","query":"x.com"}` + "\n"
	want := `{"type":"dns","srcIP":"8.8.8.8","query":"x.com","groups":["lab"]}` + "\n"
	if out, stderr, _ := runBin(t, line, nil, "-c", cfg); out != want {
		t.Errorf("-c: %q %s", out, stderr)
	}
	if out, stderr, _ := runBin(t, line, []string{"NFR_CONFIG=" + cfg}); out != want {
		t.Errorf("$NFR_CONFIG: %q %s", out, stderr)
	}
	// --scope wins over the config
	if out, _, _ := runBin(t, line, nil, "-c", cfg, "--scope", pkgdata(t, "scope.yml")); out != "" {
		t.Errorf("--scope: %q", out)
	}
	// a config naming no scope means the built-in one
	os.WriteFile(cfg, []byte("scope:\n  file: \"\"\n"), 0o644)
	if out, _, _ := runBin(t, `{"type":"dns","srcIP":"100.64.1.1","query":"x.com"}`, nil, "-c", cfg); !strings.Contains(out, `"groups":["default"]`) {
		t.Errorf("built-in: %q", out)
	}
	os.WriteFile(cfg, []byte("scope:\n  fil: x\n"), 0o644)
	if _, stderr, code := runBin(t, "", nil, "-c", cfg); code != 2 || !strings.Contains(stderr, cfg+":2: ") {
		t.Errorf("bad config: exit %d %s", code, stderr)
	}
	if _, stderr, code := runBin(t, "", nil, "-c", filepath.Join(dir, "nope.yml")); code != 2 {
		t.Errorf("missing config: exit %d %s", code, stderr)
	}
}

// proc is a running nfr-scope fed line by line.
type proc struct {
	t       *testing.T
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Reader
	mu      sync.Mutex
	errs    []string // stderr lines so far
	errDone chan struct{}
}

func start(t *testing.T, args ...string) *proc {
	cmd := exec.Command(testenv.Bin(t, "nfr-scope"), append([]string{"--line-buffered"}, args...)...)
	cmd.Env = append(os.Environ(), "NFR_CONFIG="+emptyConfig(t))
	p := &proc{t: t, cmd: cmd, errDone: make(chan struct{})}
	p.in, _ = cmd.StdinPipe()
	o, _ := cmd.StdoutPipe()
	e, _ := cmd.StderrPipe()
	p.out = bufio.NewReader(o)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.errDone)
		sc := bufio.NewScanner(e)
		for sc.Scan() {
			p.mu.Lock()
			p.errs = append(p.errs, sc.Text())
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); p.wait() })
	return p
}

// wait waits for the process after reading all of its stderr.
func (p *proc) wait() error {
	io.Copy(io.Discard, p.out)
	<-p.errDone
	return p.cmd.Wait()
}

func (p *proc) send(line string) string {
	p.t.Helper()
	io.WriteString(p.in, line+"\n")
	got, err := p.out.ReadString('\n')
	if err != nil {
		p.t.Fatalf("reading output: %v (stderr %q)", err, p.stderr())
	}
	return strings.TrimSpace(got)
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.errs, "\n")
}

// waitErr waits until stderr holds s (polling; the bound is only there so
// that a broken build fails instead of hanging).
func (p *proc) waitErr(s string) {
	p.t.Helper()
	for i := 0; i < 3000; i++ {
		if strings.Contains(p.stderr(), s) {
			return
		}
		select {
		case <-p.errDone:
			if strings.Contains(p.stderr(), s) {
				return
			}
			p.t.Fatalf("stderr closed without %q: %s", s, p.stderr())
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.t.Fatalf("no %q on stderr: %s", s, p.stderr())
}

func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scope.yml")
	os.WriteFile(path, []byte("groups:\n  a:\n    in_scope: [10.0.0.0/8]\n"), 0o644)
	p := start(t, "--scope", path)
	ev := `{"type":"dns","srcIP":"10.1.1.1","query":"x.com"}`
	if got := p.send(ev); got != `{"type":"dns","srcIP":"10.1.1.1","query":"x.com","groups":["a"]}` {
		t.Fatalf("before reload: %s", got)
	}
	p.cmd.Process.Signal(syscall.SIGUSR1)
	p.waitErr("nfr-scope: read 1, kept 1, dropped 0")
	os.WriteFile(path, []byte("groups:\n  b:\n    networks: [10.0.0.0/8]\n"), 0o644)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitErr("reloaded " + path + ": 1 groups (b)")
	if got := p.send(ev); got != `{"type":"dns","srcIP":"10.1.1.1","query":"x.com","groups":["b"]}` {
		t.Fatalf("after reload: %s", got)
	}
	os.WriteFile(path, []byte("groups:\n  c:\n    networks: [10.0.0.0/88]\n"), 0o644)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitErr(path + `:3: bad network "10.0.0.0/88"`)
	if got := p.send(ev); got != `{"type":"dns","srcIP":"10.1.1.1","query":"x.com","groups":["b"]}` {
		t.Fatalf("after a bad reload: %s", got)
	}
	p.in.Close()
	if err := p.wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

// TestInterrupt: the first SIGINT lets nfr-scope drain its input, the
// second stops it.
func TestInterrupt(t *testing.T) {
	p := start(t, "--stats")
	ev := `{"type":"dns","srcIP":"10.1.1.1","query":"x.com"}`
	want := `{"type":"dns","srcIP":"10.1.1.1","query":"x.com","groups":["default"]}`
	if got := p.send(ev); got != want {
		t.Fatalf("%s", got)
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	p.waitErr("interrupt again to stop now")
	for i := 0; i < 3; i++ {
		if got := p.send(ev); got != want {
			t.Fatalf("after SIGINT: %s", got)
		}
	}
	p.in.Close()
	if err := p.wait(); err != nil {
		t.Fatalf("exit after draining: %v", err)
	}
	p.waitErr("read 4, kept 4")

	p = start(t)
	p.send(ev)
	p.cmd.Process.Signal(syscall.SIGINT)
	p.waitErr("interrupt again to stop now") // signals are not queued
	p.send(ev)
	p.cmd.Process.Signal(syscall.SIGINT)
	err := p.wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("second SIGINT: %v, want exit 130", err)
	}
}
