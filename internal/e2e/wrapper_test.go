package e2e

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
)

// nfr runs scripts/nfr with args and env (on top of a minimal environment)
// and returns stdout, stderr and the exit status.
func nfr(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.Root(t), "scripts", "nfr"), args...)
	cmd.Env = append([]string{"PATH=" + family(t) + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// family builds the programs the wrapper runs and returns their directory.
func family(t *testing.T) string {
	return testenv.BinDir(t, "nfr-capture", "nfr-scope", "nfr-score", "nfr-parse-bro", "nfr-parse-suricata",
		"nfr-submit", "nfr-check", "nfr-account")
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func TestWrapperHelpAndUsage(t *testing.T) {
	out, _, code := nfr(t, nil, "--help")
	if code != 0 {
		t.Fatalf("nfr --help exit %d", code)
	}
	for _, want := range []string{"account register", "account reset", "account status", "listen", "read", "version", "help"} {
		if !strings.Contains(out, want) {
			t.Errorf("nfr --help lacks %q", want)
		}
	}
	for _, sub := range []string{"read", "listen", "account", "version"} {
		if out, _, code := nfr(t, nil, "help", sub); code != 0 || !strings.Contains(out, "Usage: nfr") {
			t.Errorf("nfr help %s: exit %d, %q", sub, code, out)
		}
	}
	if out, _, code := nfr(t, nil, "read", "--help"); code != 0 || !strings.Contains(out, "Usage: nfr read") {
		t.Errorf("nfr read --help: exit %d", code)
	}
	_, errOut, code := nfr(t, nil, "frobnicate")
	if code != 2 || !strings.Contains(errOut, "nfr: error: unknown command frobnicate") || !strings.Contains(errOut, "nfr: hint:") {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
	if _, _, code := nfr(t, nil); code != 2 {
		t.Errorf("no command: exit %d, want 2", code)
	}
}

func TestWrapperPipelines(t *testing.T) {
	dir := t.TempDir()
	pcap := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0}
	files := map[string]string{
		"cap.pcap":      writeFile(t, dir, "cap.pcap", pcap),
		"cap.pcap.gz":   writeFile(t, dir, "cap.pcap.gz", gz(t, pcap)),
		"cap.pcapng":    writeFile(t, dir, "cap.pcapng", []byte{0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0}),
		"dns.log":       writeFile(t, dir, "dns.log", []byte("#separator \\x09\n#set_separator\t,\n#fields\tts\n")),
		"dns.json":      writeFile(t, dir, "dns.json", []byte(`{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1"}`+"\n")),
		"conn.log.gz":   writeFile(t, dir, "conn.log.gz", gz(t, []byte("#separator \\x09\n"))),
		"eve.json":      writeFile(t, dir, "eve.json", []byte("\n"+`{"timestamp":"2020-01-01T00:00:00.000000+0000","event_type":"dns"}`+"\n")),
		"events.ndjson": writeFile(t, dir, "events.ndjson", []byte(`{"type":"dns","v":1}`+"\n")),
		"junk.txt":      writeFile(t, dir, "junk.txt", []byte("hello\n")),
	}
	tests := []struct {
		file, want string
	}{
		{"cap.pcap", "nfr-capture -r " + files["cap.pcap"] + " | nfr-scope"},
		{"cap.pcap.gz", "nfr-capture -r " + files["cap.pcap.gz"] + " | nfr-scope"},
		{"cap.pcapng", "nfr-capture -r " + files["cap.pcapng"] + " | nfr-scope"},
		{"dns.log", "nfr-parse-bro " + files["dns.log"] + " | nfr-scope"},
		{"dns.json", "nfr-parse-bro " + files["dns.json"] + " | nfr-scope"},
		{"conn.log.gz", "nfr-parse-bro " + files["conn.log.gz"] + " | nfr-scope"},
		{"eve.json", "nfr-parse-suricata " + files["eve.json"] + " | nfr-scope"},
		{"events.ndjson", "cat -- " + files["events.ndjson"] + " | nfr-scope"},
	}
	for _, tt := range tests {
		out, errOut, code := nfr(t, nil, "-n", "read", files[tt.file])
		if code != 0 || !strings.HasPrefix(out, tt.want) {
			t.Errorf("nfr -n read %s: exit %d, got %q (stderr %q), want prefix %q", tt.file, code, out, errOut, tt.want)
		}
	}
	_, errOut, code := nfr(t, nil, "-n", "read", files["junk.txt"])
	if code != 1 || !strings.Contains(errOut, "junk.txt: unknown format") {
		t.Errorf("junk: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = nfr(t, nil, "-n", "read", filepath.Join(dir, "missing.pcap"))
	if code != 1 || !strings.Contains(errOut, "missing.pcap: no such file") {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut)
	}
	out, _, _ := nfr(t, nil, "-n", "read", files["cap.pcap"], files["dns.log"])
	// Two readers: each through nfr-scope into a file, merged by nfr-score.
	if !strings.HasPrefix(out, "{ nfr-capture -r "+files["cap.pcap"]+` | nfr-scope > "$tmp/in.0"; nfr-parse-bro `+files["dns.log"]+
		` | nfr-scope > "$tmp/in.1"; }; : | nfr-score "$tmp/in.0" "$tmp/in.1"`) {
		t.Errorf("two files: %q", out)
	}
}

func TestWrapperScorerAndConfig(t *testing.T) {
	dir := t.TempDir()
	conf := writeFile(t, dir, "config.yml", []byte(`# test
alphasoc:
  host: https://api.example.net
  api_key: "secret-key"   # comment
network:
  interface: eth7
  filter: "udp port 53"
  dns_ports: [5353, 8053]
  types: [dns, ip]
  dns_timeout: 30s
  promiscuous: false
  afpacket: true
  workers: 2
  user: nobody
alerts:
  file: /var/log/nfr alerts.json
`))
	// The wrapper only passes -c along: nfr-capture reads network: itself.
	out, _, code := nfr(t, nil, "-n", "-c", conf, "listen")
	want := `nfr-capture -c CONF | nfr-scope -c CONF | nfr-submit -c CONF >> /var/log/nfr\ alerts.json`
	want = strings.ReplaceAll(want, "CONF", conf)
	if code != 0 || strings.TrimSpace(out) != want {
		t.Errorf("listen with config:\n got %q\nwant %q", out, want)
	}
	// $NFR_API_KEY selects nfr-submit; stderr is the default alert sink.
	out, _, _ = nfr(t, []string{"NFR_API_KEY=k"}, "-n", "listen", "lo")
	if strings.TrimSpace(out) != "nfr-capture -i lo | nfr-scope | nfr-submit >&2" {
		t.Errorf("listen with NFR_API_KEY: %q", out)
	}
	if strings.Contains(out, "secret") {
		t.Error("the API key must never appear in the pipeline")
	}
	_, errOut, code := nfr(t, nil, "-c", filepath.Join(dir, "nope.yml"), "read")
	if code != 2 || !strings.Contains(errOut, "cannot read configuration") {
		t.Errorf("missing config: exit %d, %q", code, errOut)
	}
}

func TestSampleFilesLint(t *testing.T) {
	root := testenv.Root(t)
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Fatal("shellcheck not installed (scripts/setup.sh installs it)")
	}
	scripts, _ := filepath.Glob(filepath.Join(root, "scripts", "bench", "*.sh"))
	cmd := exec.Command("shellcheck", append([]string{"-x", "scripts/nfr", "scripts/systemd/nfr-logs", "scripts/completion/nfr.bash", "packaging/postinst", "packaging/prerm", "packaging/postrm", "scripts/setup.sh", "scripts/bench/lib.bash", ".ci/run"}, scripts...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
	if _, err := exec.LookPath("mandoc"); err != nil {
		t.Fatal("mandoc not installed (scripts/setup.sh installs it)")
	}
	pages, _ := filepath.Glob(filepath.Join(root, "man", "*.[15]"))
	args := append([]string{"-Tlint", "-Wwarning"}, pages...)
	if out, err := exec.Command("mandoc", args...).CombinedOutput(); err != nil {
		t.Errorf("mandoc -Tlint: %v\n%s", err, out)
	}
}
