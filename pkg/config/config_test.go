package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
)

func TestSampleConfigLoads(t *testing.T) {
	path := filepath.Join(testenv.Root(t), "config.yml")
	if _, err := Load(path); err != nil {
		t.Fatalf("sample config.yml: %v", err)
	}
}

func TestStrict(t *testing.T) {
	_, err := Parse([]byte("alphasoc:\n  host: https://x\n  api_kye: k\n"), "c.yml")
	if err == nil || !strings.HasPrefix(err.Error(), "c.yml:3: ") {
		t.Fatalf("want an error naming c.yml:3, got %v", err)
	}
}
