package config

import (
	"strings"
	"testing"
	"time"
)

func TestSubmitAndAlphaSOC(t *testing.T) {
	for _, tc := range []struct {
		yml, err string
	}{
		{"submit:\n  fsync: always\n  batch_age: 250ms\n  gzip: true\n", ""},
		{"submit:\n  fsync: sometimes\n", "submit.fsync"},
		{"submit:\n  batch_events: 0\n", "submit.batch_events"},
		{"submit:\n  batch_bytes: 10\n", "submit.batch_bytes"},
		{"submit:\n  connections: 0\n", "submit.connections"},
		{"submit:\n  retry_min: 2m\n  retry_max: 1m\n", "retry_min"},
		{"submit:\n  batch_age: soon\n", "c.yml:2:"},
		{"submit:\n  spool_limit_mb: 0\n", "submit.spool_limit_mb"},
		{"alphasoc:\n  host: https://user:pw@x.example\n", "not in the URL"},
		{"alphasoc:\n  api_key: \"a b\"\n", "alphasoc.api_key"},
	} {
		c, err := Parse([]byte(tc.yml), "c.yml")
		if tc.err == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.yml, err)
			} else if c.Submit.BatchAge != 250*time.Millisecond || !c.Submit.Gzip || c.Submit.Spool != "/var/lib/nfr/spool" {
				t.Errorf("%q: %+v", tc.yml, c.Submit)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: error %v, want %q", tc.yml, err, tc.err)
		}
	}
}

func TestKeyEnv(t *testing.T) {
	a := AlphaSOC{APIKey: "file"}
	t.Setenv(KeyEnv, "")
	if a.Key() != "file" {
		t.Errorf("Key() = %q", a.Key())
	}
	t.Setenv(KeyEnv, "env")
	if a.Key() != "env" {
		t.Errorf("Key() = %q with $%s set", a.Key(), KeyEnv)
	}
}
