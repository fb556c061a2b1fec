package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestScopeSection(t *testing.T) {
	c, err := Parse([]byte("scope:\n  file: scope.yml\n"), "/etc/nfr/config.yml")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("/etc/nfr", "scope.yml"); c.Scope.File != want {
		t.Errorf("scope.file = %q, want %q (relative to the config file)", c.Scope.File, want)
	}
	if c := Default(); c.Scope.File != "" {
		t.Errorf("default scope.file = %q, want the built-in scope", c.Scope.File)
	}
	for _, bad := range []string{"scope:\n  file: \"-\"\n", "scope:\n  fiel: x\n"} {
		if _, err := Parse([]byte(bad), "c.yml"); err == nil || !strings.HasPrefix(err.Error(), "c.yml") {
			t.Errorf("%q: error %v, want one naming c.yml", bad, err)
		}
	}
}
