package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
)

// programs are every cmd/nfr-* of the tree.
func programs(t *testing.T) []string {
	dirs, err := filepath.Glob(filepath.Join(testenv.Root(t), "cmd", "nfr-*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no programs: %v", err)
	}
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(d))
	}
	return names
}

// --help on every program goes to stdout with exit 0; a usage error goes to
// stderr with exit 2 and a hint; every program has its man page.
func TestHelpAndUsageEveryProgram(t *testing.T) {
	root := testenv.Root(t)
	for _, p := range programs(t) {
		for _, h := range []string{"--help", "-h"} {
			r := testenv.RunBin(t, p, nil, h)
			if r.Code != 0 || !strings.Contains(r.Stdout, "Usage:") || r.Stderr != "" {
				t.Errorf("%s %s: exit %d, stdout %.60q, stderr %q", p, h, r.Code, r.Stdout, r.Stderr)
			}
		}
		r := testenv.RunBin(t, p, nil, "--no-such-option")
		if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, p+": error: ") || !strings.Contains(r.Stderr, p+": hint: ") {
			t.Errorf("%s --no-such-option: exit %d, stdout %q, stderr %q", p, r.Code, r.Stdout, r.Stderr)
		}
		r = testenv.RunBin(t, p, nil, "--version")
		if r.Code != 0 || !strings.HasPrefix(r.Stdout, p+" ") {
			t.Errorf("%s --version: exit %d, %q", p, r.Code, r.Stdout)
		}
		if _, err := os.Stat(filepath.Join(root, "man", p+".1")); err != nil {
			t.Errorf("%s has no man page: %v", p, err)
		}
	}
	// The wrapper, likewise.
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"read", "--help"}, {"listen", "--help"}, {"check", "--help"}, {"account", "--help"}} {
		out, errOut, code := nfrIn(t, nil, args...)
		if code != 0 || !strings.Contains(out, "Usage: nfr") || errOut != "" {
			t.Errorf("nfr %q: exit %d, stdout %.60q, stderr %q", args, code, out, errOut)
		}
	}
	for _, args := range [][]string{{}, {"--bogus"}, {"frob"}, {"account"}, {"read", "--bogus"}, {"listen", "--bogus"}} {
		out, errOut, code := nfrIn(t, nil, args...)
		if code != 2 || out != "" || errOut == "" {
			t.Errorf("nfr %q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}
