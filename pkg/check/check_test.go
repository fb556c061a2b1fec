package check

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
)

type result struct {
	code     int
	out, err string
}

func runCheck(t *testing.T, c *Checker) result {
	t.Helper()
	var out, errs bytes.Buffer
	c.Out = &out
	c.Errorf = func(f string, a ...any) { fmt.Fprintf(&errs, "error: "+f+"\n", a...) }
	c.Hintf = func(f string, a ...any) { fmt.Fprintf(&errs, "hint: "+f+"\n", a...) }
	if c.Caps == nil {
		c.Caps = func() (uint64, error) { return 1<<capNetRaw | 1<<capNetAdmin, nil }
	}
	if c.Packet == nil {
		c.Packet = func(string) error { return nil }
	}
	code := c.Run()
	return result{code, out.String(), errs.String()}
}

func write(t *testing.T, dir, name, s string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSampleConfigWithInterface(t *testing.T) {
	t.Setenv("NFR_API_KEY", "")
	r := runCheck(t, &Checker{ConfigFlag: filepath.Join(testenv.Root(t), "config.yml"), Interface: "lo"})
	if r.code != OK {
		t.Fatalf("exit %d, want 0\n%s%s", r.code, r.out, r.err)
	}
	for _, want := range []string{"ok: config ", "ok: scope built-in", "ok: interface lo", "built-in engine (nfr-score)"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	// Without an interface nfr listen would not run.
	r = runCheck(t, &Checker{ConfigFlag: filepath.Join(testenv.Root(t), "config.yml")})
	if r.code != Failed || !strings.Contains(r.err, "network.interface") {
		t.Errorf("no interface: exit %d, %s", r.code, r.err)
	}
}

func TestConfigAndScopeErrorsNameTheLine(t *testing.T) {
	dir := t.TempDir()
	conf := write(t, dir, "config.yml", "network:\n  interface: lo\n  dns_portz: [5353]\n")
	r := runCheck(t, &Checker{ConfigFlag: conf})
	if r.code != Invalid || !strings.Contains(r.err, conf+":3: ") || strings.Count(r.err, "error:") != 1 {
		t.Errorf("bad key: exit %d, %q (want one error naming line 3)", r.code, r.err)
	}
	write(t, dir, "scope.yml", "groups:\n  default:\n    in_scope: 10.0.0.0/8\n")
	conf = write(t, dir, "config.yml", "network:\n  interface: lo\nscope:\n  file: scope.yml\n")
	r = runCheck(t, &Checker{ConfigFlag: conf})
	want := filepath.Join(dir, "scope.yml") + `:3: "10.0.0.0/8" is not a list`
	if r.code != Invalid || !strings.Contains(r.err, want) {
		t.Errorf("scope not a list: exit %d, %q, want %q", r.code, r.err, want)
	}
	r = runCheck(t, &Checker{ConfigFlag: filepath.Join(dir, "missing.yml")})
	if r.code != Invalid {
		t.Errorf("missing named config: exit %d", r.code)
	}
}

func TestMissingCapability(t *testing.T) {
	dir := t.TempDir()
	conf := write(t, dir, "config.yml", "network:\n  interface: lo\n")
	r := runCheck(t, &Checker{ConfigFlag: conf,
		Caps:   func() (uint64, error) { return 0, nil },
		Packet: func(string) error { return syscall.EPERM }})
	if r.code != Failed || !strings.Contains(r.err, "missing CAP_NET_RAW") || !strings.Contains(r.err, "setcap") {
		t.Errorf("exit %d, %q", r.code, r.err)
	}
	r = runCheck(t, &Checker{ConfigFlag: conf, Interface: "nfr-no-such0"})
	if r.code != Failed || !strings.Contains(r.err, "interface nfr-no-such0") {
		t.Errorf("missing interface: exit %d, %q", r.code, r.err)
	}
}

// The real AF_PACKET open: allowed as root, refused otherwise.
func TestOpenPacketLoopback(t *testing.T) {
	err := OpenPacket("lo")
	caps, _ := EffectiveCaps()
	if caps&(1<<capNetRaw) != 0 && err != nil {
		t.Errorf("with CAP_NET_RAW: %v", err)
	}
	if caps&(1<<capNetRaw) == 0 && err == nil {
		t.Error("without CAP_NET_RAW the socket opened")
	}
}

// The API key is tried against a server speaking the status call.
func TestAPIKey(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, _, _ := r.BasicAuth()
		if r.URL.Path != "/v1/account/status" || key != "good-key" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message":"invalid API key"}`))
			return
		}
		w.Write([]byte(`{"registered":true,"expired":false,"messages":[]}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	for _, tt := range []struct {
		key  string
		code int
	}{{"good-key", OK}, {"bad-key", Failed}} {
		t.Setenv("NFR_API_KEY", tt.key)
		conf := write(t, dir, "config.yml", fmt.Sprintf("alphasoc:\n  host: %s\nnetwork:\n  interface: lo\nsubmit:\n  spool: %s\n", srv.URL, filepath.Join(dir, "spool")))
		r := runCheck(t, &Checker{ConfigFlag: conf})
		if r.code != tt.code {
			t.Errorf("key %s: exit %d, want %d\n%s%s", tt.key, r.code, tt.code, r.out, r.err)
		}
		if strings.Contains(r.out+r.err, tt.key) {
			t.Errorf("the key %s was printed", tt.key)
		}
	}
}

func TestUnwritableState(t *testing.T) {
	t.Setenv("NFR_API_KEY", "")
	dir := t.TempDir()
	conf := write(t, dir, "config.yml", "network:\n  interface: lo\nscore:\n  state: /nonexistent/dir/score.state\n")
	r := runCheck(t, &Checker{ConfigFlag: conf})
	if r.code != Failed || !strings.Contains(r.err, "score.state") {
		t.Errorf("exit %d, %q", r.code, r.err)
	}
}

func TestAnswers(t *testing.T) {
	t.Setenv("NFR_API_KEY", "")
	dir := t.TempDir()
	conf := write(t, dir, "config.yml", "alphasoc:\n  api_key: secret\nalerts:\n  file: alerts.json\n  outputs:\n    - {url: \"file:a.cef\", format: cef}\nnetwork:\n  interface: eth7\n")
	var b bytes.Buffer
	if err := Answers(&b, conf); err != nil {
		t.Fatal(err)
	}
	want := "config=" + conf + "\nscorer=submit\nalerts=" + filepath.Join(dir, "alerts.json") + "\nlog=stdout\ninterface=eth7\noutputs=1\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), "secret") {
		t.Error("the key was printed")
	}
}
