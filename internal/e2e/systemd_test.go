package e2e

import (
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
