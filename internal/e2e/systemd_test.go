package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
)

// units are the systemd units make install and the packages install.
var units = []string{"nfr-listen.service", "nfr-listen@.service", "nfr-engine.service", "nfr-logs.service", "nfr-logs.timer"}

// unitDir copies the units into a directory with their commands pointing at
// this tree's programs (systemd-analyze verify checks that every command
// exists), the template under an instance name.
func unitDir(t *testing.T) string {
	root := testenv.Root(t)
	bins := family(t)
	dir := t.TempDir()
	repl := strings.NewReplacer(
		"/usr/bin/nfr-engine", filepath.Join(bins, "nfr-engine"),
		"/usr/bin/nfr ", filepath.Join(root, "scripts", "nfr")+" ",
		"/usr/libexec/nfr/nfr-logs", filepath.Join(root, "scripts", "systemd", "nfr-logs"))
	testenv.Bin(t, "nfr-engine")
	for _, u := range units {
		b, err := os.ReadFile(filepath.Join(root, "scripts", "systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		name := strings.Replace(u, "@.", "@lo.", 1)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(repl.Replace(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSystemdUnitsVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatal("systemd-analyze not installed (scripts/setup.sh installs systemd)")
	}
	dir := unitDir(t)
	for _, u := range units {
		name := strings.Replace(u, "@.", "@lo.", 1)
		out, err := exec.Command("systemd-analyze", "verify", "--man=no", filepath.Join(dir, name)).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", u, err, out)
		}
	}
}

var exposure = regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+) (\S+)`)

// Every service is rated OK or better (exposure <= 3.0) by systemd's own
// offline review of the unit file.
func TestSystemdUnitsSecurity(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatal("systemd-analyze not installed (scripts/setup.sh installs systemd)")
	}
	root := testenv.Root(t)
	for _, u := range units {
		if !strings.HasSuffix(u, ".service") {
			continue
		}
		out, _ := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager",
			filepath.Join(root, "scripts", "systemd", u)).CombinedOutput()
		m := exposure.FindStringSubmatch(string(out))
		if m == nil {
			t.Errorf("%s: no exposure level in\n%s", u, out)
			continue
		}
		level, _ := strconv.ParseFloat(m[1], 64)
		t.Logf("%s: exposure %.1f %s", u, level, m[2])
		if level > 3.0 {
			t.Errorf("%s: exposure %.1f %s, want <= 3.0\n%s", u, level, m[2], out)
		}
	}
}

// nxdomainLines returns Zeek dns.log lines: one internal host asking for n
// names that do not exist, from ts on.
func nxdomainLines(from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "%d.000000\tC%d\t10.1.1.5\t%d\t10.1.1.1\t53\tudp\txk%dqpz%drtvw.com\t1\tA\t3\tNXDOMAIN\t-\n", 1700000000+i, i, 40000+i, i, i)
	}
	return b.String()
}

const dnsHeader = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n" +
	"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\tqtype\tqtype_name\trcode\trcode_name\tanswers\n" +
	"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tcount\tstring\tcount\tstring\tvector[string]\n"

// nfr-logs (what nfr-logs.timer runs) scores new log lines exactly once:
// a run over unchanged logs adds no alert, lines appended since are scored.
func TestLogsServiceExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "dns.log")
	if err := os.WriteFile(log, []byte(dnsHeader+nxdomainLines(0, 30)), 0o644); err != nil {
		t.Fatal(err)
	}
	alerts := filepath.Join(dir, "alerts.json")
	run := func() int {
		t.Helper()
		cmd := exec.Command(filepath.Join(testenv.Root(t), "scripts", "systemd", "nfr-logs"))
		cmd.Env = append(os.Environ(), "PATH="+family(t)+":"+os.Getenv("PATH"), "NFR_CONFIG=/dev/null",
			"NFR_STATE_DIR="+dir, "NFR_ALERTS="+alerts, "NFR_ZEEK_LOGS="+filepath.Join(dir, "*.log"), "NFR_EVE_LOGS="+filepath.Join(dir, "eve.json*"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nfr-logs: %v\n%s", err, out)
		}
		b, _ := os.ReadFile(alerts)
		return strings.Count(string(b), `{"type":"alert"`)
	}
	first := run()
	if first == 0 {
		t.Fatal("no alerts from 30 NXDOMAIN answers")
	}
	for _, f := range []string{"zeek.state", "score.state"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("no %s: %v", f, err)
		}
	}
	if again := run(); again != first {
		t.Errorf("a second run over the same logs: %d alerts, want %d (exactly once)", again, first)
	}
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(nxdomainLines(30, 30))
	f.Close()
	third := run()
	if third <= first {
		t.Errorf("after 30 more lines: %d alerts, want more than %d", third, first)
	}
	t.Logf("alerts: %d, then %d (same logs), then %d (30 lines appended)", first, first, third)
}
