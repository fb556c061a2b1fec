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

// The .deb from a fresh machine to an unprivileged capture: it installs
// with apt-get, lintian finds no error in it, the installed programs run
// from their installed paths (nfr version, nfr check, nfr read on the
// bundled capture, nfr listen as the nfr user with only the unit's
// capabilities), its units verify, and remove keeps the configuration
// while purge removes it. It changes the machine, so it runs only as root
// in CI (CI=true) or when asked (NFR_PACKAGE_TEST=1).
func TestDebianPackage(t *testing.T) {
	if os.Geteuid() != 0 || (os.Getenv("CI") != "true" && os.Getenv("NFR_PACKAGE_TEST") != "1") {
		t.Skip("installs a package: runs as root with CI=true or NFR_PACKAGE_TEST=1")
	}
	root := testenv.Root(t)
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	old, _ := filepath.Glob(filepath.Join(root, "build", "nfr_*.deb"))
	for _, f := range old {
		os.Remove(f)
	}
	run("make", "-s", "deb")
	debs, _ := filepath.Glob(filepath.Join(root, "build", "nfr_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v", debs)
	}
	deb := "./" + strings.TrimPrefix(debs[0], root+"/")

	if _, err := exec.LookPath("lintian"); err == nil {
		out, _ := exec.Command("lintian", "--allow-root", debs[0]).CombinedOutput()
		var errs []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "E: ") {
				errs = append(errs, l)
			}
		}
		t.Logf("lintian: %d errors, %d warnings", len(errs), strings.Count(string(out), "\nW: ")+map[bool]int{true: 1}[strings.HasPrefix(string(out), "W: ")])
		if len(errs) > 0 {
			t.Errorf("lintian errors:\n%s", strings.Join(errs, "\n"))
		}
	} else {
		t.Error("lintian not installed (scripts/setup.sh installs it)")
	}

	apt := []string{"-y", "-o", "DPkg::Lock::Timeout=300"}
	t.Cleanup(func() {
		exec.Command("apt-get", append(apt, "purge", "nfr")...).Run()
	})
	run("apt-get", append(apt, "install", deb)...)

	if out := run("/usr/bin/nfr", "version"); !strings.Contains(out, "nfr ") || strings.Contains(out, "VERSION") || !strings.Contains(out, "nfr-check ") {
		t.Errorf("nfr version: %q", out)
	}
	st, err := os.Stat("/etc/nfr/config.yml")
	if err != nil {
		t.Fatal(err)
	}
	if sys := st.Sys().(*syscall.Stat_t); st.Mode().Perm() != 0o640 || sys.Uid != 0 {
		t.Errorf("/etc/nfr/config.yml: mode %v, uid %d; want 0640 root:nfr", st.Mode().Perm(), sys.Uid)
	}
	if out := run("getent", "group", "nfr"); !strings.HasPrefix(out, "nfr:") {
		t.Errorf("no nfr group: %q", out)
	}
	if st, err := os.Stat("/etc/nfr/config.yml"); err == nil {
		grp := run("stat", "-c", "%G", "/etc/nfr/config.yml")
		if strings.TrimSpace(grp) != "nfr" {
			t.Errorf("/etc/nfr/config.yml group %q, mode %v", grp, st.Mode())
		}
	}
	if st, err := os.Stat("/var/lib/nfr"); err != nil || !st.IsDir() {
		t.Errorf("/var/lib/nfr: %v", err)
	}
	out := run("/usr/bin/nfr", "check", "-i", "lo")
	if !strings.Contains(out, "ok: scope /etc/nfr/scope.yml") {
		t.Errorf("the installed config does not use the installed scope:\n%s", out)
	}

	// As the nfr user with only the unit's capabilities, as nfr-listen.service runs it.
	asNFR := []string{"--reuid", "nfr", "--regid", "nfr", "--init-groups",
		"--inh-caps", "+net_raw,+net_admin", "--ambient-caps", "+net_raw,+net_admin", "--"}
	out = run("setpriv", append(asNFR, "/usr/bin/nfr", "check", "-i", "lo")...)
	t.Logf("nfr check as nfr:\n%s", out)
	cmd := exec.Command("setpriv", append(asNFR, "/usr/bin/nfr", "read", "/usr/share/doc/nfr/examples/demo.pcap")...)
	var stderr testenv.SyncBuffer
	cmd.Stderr = &stderr
	if b, err := cmd.Output(); err != nil {
		t.Fatalf("nfr read as nfr: %v\n%s%s", err, b, stderr.String())
	}
	alerts := strings.Count(stderr.String(), `{"type":"alert"`)
	t.Logf("nfr read demo.pcap from the installed paths, as nfr: %d alerts", alerts)
	if alerts == 0 {
		t.Errorf("no alerts from the bundled capture: %q", stderr.String())
	}
	// nfr listen as nfr, unprivileged but for CAP_NET_RAW/CAP_NET_ADMIN: it
	// runs until TERM, which it passes on, and exits 0.
	listen := exec.Command("setpriv", append(asNFR, "/usr/bin/nfr", "listen", "lo")...)
	var lout testenv.SyncBuffer
	listen.Stdout, listen.Stderr = &lout, &lout
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	listen.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- listen.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("nfr listen as nfr: %v\n%s", err, lout.String())
		}
	case <-time.After(20 * time.Second):
		listen.Process.Kill()
		t.Errorf("nfr listen as nfr did not stop on TERM:\n%s", lout.String())
	}

	for _, u := range units {
		name := "/lib/systemd/system/" + strings.Replace(u, "@.", "@lo.", 1)
		if strings.Contains(u, "@") {
			b, _ := os.ReadFile("/lib/systemd/system/" + u)
			dir := t.TempDir()
			name = filepath.Join(dir, "nfr-listen@lo.service")
			os.WriteFile(name, b, 0o644)
		}
		if out, err := exec.Command("systemd-analyze", "verify", "--man=no", name).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify %s (installed): %v\n%s", u, err, out)
		}
	}

	run("apt-get", append(apt, "remove", "nfr")...)
	if _, err := os.Stat("/usr/bin/nfr-capture"); err == nil {
		t.Error("remove left /usr/bin/nfr-capture")
	}
	if _, err := os.Stat("/etc/nfr/config.yml"); err != nil {
		t.Errorf("remove did not keep the configuration: %v", err)
	}
	run("apt-get", append(apt, "purge", "nfr")...)
	for _, p := range []string{"/etc/nfr/config.yml", "/etc/nfr/scope.yml", "/var/lib/nfr"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("purge left %s", p)
		}
	}
}

// make rpm builds the same contents for RPM systems: config files marked as
// such, units under /usr/lib/systemd, libpcap required.
func TestRPMPackage(t *testing.T) {
	if os.Getenv("CI") != "true" && os.Getenv("NFR_PACKAGE_TEST") != "1" {
		t.Skip("builds every program again: runs with CI=true or NFR_PACKAGE_TEST=1")
	}
	if _, err := exec.LookPath("rpm"); err != nil {
		t.Skip("no rpm to read the package with")
	}
	root := testenv.Root(t)
	old, _ := filepath.Glob(filepath.Join(root, "build", "nfr-*.rpm"))
	for _, f := range old {
		os.Remove(f)
	}
	cmd := exec.Command("make", "-s", "rpm")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make rpm: %v\n%s", err, out)
	}
	rpms, _ := filepath.Glob(filepath.Join(root, "build", "nfr-*.rpm"))
	if len(rpms) != 1 {
		t.Fatalf("make rpm made %v", rpms)
	}
	query := func(args ...string) string {
		out, err := exec.Command("rpm", append([]string{"-qp"}, append(args, rpms[0])...)...).Output()
		if err != nil {
			t.Fatalf("rpm -qp %v: %v", args, err)
		}
		return string(out)
	}
	files, conf, req := query("-l"), query("-c"), query("--requires")
	for _, want := range []string{"/usr/bin/nfr\n", "/usr/bin/nfr-check\n", "/usr/lib/systemd/system/nfr-listen.service\n",
		"/usr/share/man/man1/nfr.1.gz\n", "/usr/share/bash-completion/completions/nfr-capture\n"} {
		if !strings.Contains(files, want) {
			t.Errorf("the rpm lacks %s", strings.TrimSpace(want))
		}
	}
	if !strings.Contains(conf, "/etc/nfr/config.yml") || !strings.Contains(req, "libpcap") {
		t.Errorf("config files %q, requires %q", conf, req)
	}
}
