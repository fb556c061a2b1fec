package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/faultserver"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/config"
)

func runAccount(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	stdout, stderr, code = testenv.Run(t, testenv.Bin(t, "nfr-account"), nil, append([]string{"NFR_API_KEY=", "NFR_CONFIG="}, env...), args...)
	return code, stdout, stderr
}

func TestRegisterStatusReset(t *testing.T) {
	srv := faultserver.New()
	srv.Keys["placeholder"] = true // only issued keys are valid
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yml")
	sample, err := os.ReadFile(filepath.Join(testenv.Root(t), "config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cfgPath, sample, 0o644)

	// No key yet: status says so and fails.
	code, _, errs := runAccount(t, nil, "-c", cfgPath, "--host", srv.URL(), "status")
	if code != 1 || !strings.Contains(errs, "hint: run: nfr account register") {
		t.Fatalf("status without a key: %d %s", code, errs)
	}
	// Register, from a script.
	code, out, errs := runAccount(t, nil, "-c", cfgPath, "--host", srv.URL(), "register", "--name", "Ann Analyst", "--email", "ann@example.com")
	if code != 0 {
		t.Fatalf("register: %d %s", code, errs)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	key := cfg.AlphaSOC.APIKey
	if key == "" || cfg.AlphaSOC.Host != srv.URL() {
		t.Fatalf("config after register: %+v", cfg.AlphaSOC)
	}
	if strings.Contains(out+errs, key) {
		t.Errorf("the key was printed:\n%s%s", out, errs)
	}
	if fi, _ := os.Stat(cfgPath); fi.Mode().Perm() != 0o640 { // 0644 less others' access
		t.Errorf("config mode %04o, want 0640", fi.Mode().Perm())
	}
	got, _ := os.ReadFile(cfgPath)
	for _, c := range []string{"# NFR configuration.", "# Spool directory: events are stored here"} {
		if !bytes.Contains(got, []byte(c)) {
			t.Errorf("comment %q lost", c)
		}
	}
	if a, ok := srv.Account(key); !ok || a.Details.Email != "ann@example.com" || a.Details.Name != "Ann Analyst" {
		t.Errorf("server account: %+v %v", a, ok)
	}

	// Status now reads host and key from the file.
	code, out, errs = runAccount(t, nil, "-c", cfgPath, "status")
	if code != 0 || !strings.Contains(out, "registered:  yes") || !strings.Contains(out, "the key is usable") {
		t.Fatalf("status: %d\n%s%s", code, out, errs)
	}
	code, out, _ = runAccount(t, nil, "-c", cfgPath, "status", "--json")
	var st struct {
		Registered, Expired, Usable bool
		Host                        string
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || !st.Usable || st.Host != srv.URL() {
		t.Fatalf("status --json: %d %s", code, out)
	}
	srv.Expire(key)
	if code, out, _ = runAccount(t, nil, "-c", cfgPath, "status"); code != 1 || !strings.Contains(out, "expired:     yes") {
		t.Fatalf("expired key: %d %s", code, out)
	}
	// A key the server refuses.
	code, _, errs = runAccount(t, []string{"NFR_API_KEY=refused"}, "-c", cfgPath, "status")
	if code != 1 || !strings.Contains(errs, "401") || strings.Contains(errs, "refused\n") && strings.Contains(errs, "NFR_API_KEY=refused") {
		t.Fatalf("refused key: %d %s", code, errs)
	}
	// Register again keeps the key and the file.
	before, _ := os.ReadFile(cfgPath)
	if code, _, errs = runAccount(t, nil, "-c", cfgPath, "register", "--name", "Ann", "--email", "ann@example.org"); code != 0 {
		t.Fatalf("second register: %s", errs)
	}
	if after, _ := os.ReadFile(cfgPath); !bytes.Equal(before, after) {
		t.Errorf("second register changed the config")
	}
	if code, _, errs = runAccount(t, nil, "-c", cfgPath, "reset", "ann@example.com"); code != 0 || len(srv.Resets()) != 1 {
		t.Fatalf("reset: %d %s", code, errs)
	}
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yml")
	os.WriteFile(cfg, nil, 0o600)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "a command is needed"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"reset"}, 2, "reset needs an e-mail address when input is not a terminal"},
		{[]string{"reset", "a@example.com", "b@example.com"}, 2, "too many arguments for reset"},
		{[]string{"status", "x"}, 2, "too many arguments for status"},
		{[]string{"reset", "not-an-address"}, 2, "is not an e-mail address"},
		{[]string{"register", "--name", "A", "--email", "a@localhost"}, 2, "domain needs a dot"},
		{[]string{"register"}, 2, "--name and --email are needed when input is not a terminal"},
		{[]string{"--version"}, 0, ""},
	} {
		code, _, errs := runAccount(t, nil, append([]string{"-c", cfg}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errs)
		}
	}
}

// TestRegisterUnwritable: a config that cannot be written (here in /proc,
// which stops root too) is found out before a key is requested, so no key
// is handed out and lost.
func TestRegisterUnwritable(t *testing.T) {
	srv := faultserver.New()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	code, _, errs := runAccount(t, nil, "-c", "/proc/self/nfr-config.yml", "--host", srv.URL(), "register", "--name", "A", "--email", "a@example.com")
	if code != 1 || !strings.Contains(errs, "cannot save a key") || srv.Requests("/v1/key/request") != 0 {
		t.Fatalf("exit %d, %d key requests\n%s", code, srv.Requests("/v1/key/request"), errs)
	}
}

// TestRegisterCreates: register with -c naming a file that does not exist
// yet creates it, mode 0600, with the key and the host.
func TestRegisterCreates(t *testing.T) {
	srv := faultserver.New()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	p := filepath.Join(t.TempDir(), "etc", "nfr", "config.yml")
	if code, _, errs := runAccount(t, nil, "-c", p, "--host", srv.URL(), "register", "--name", "A", "--email", "a@example.com"); code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	c, err := config.Load(p)
	if err != nil || c.AlphaSOC.APIKey == "" || c.AlphaSOC.Host != srv.URL() {
		t.Fatalf("%v %+v", err, c)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o", fi.Mode().Perm())
	}
}
