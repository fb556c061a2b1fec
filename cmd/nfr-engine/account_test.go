package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestKeysAddAccount: keys add --account gives another key of an existing
// account and never creates one.
func TestKeysAddAccount(t *testing.T) {
	db := filepath.Join(t.TempDir(), "engine.db")
	runCmd(t, "--db", db, "keys", "add", "acme")
	key, errs, code := runCmd(t, "--db", db, "keys", "add", "--account", "acme")
	if code != 0 || len(strings.TrimSpace(key)) != 40 || !strings.Contains(errs, "for account acme") {
		t.Fatalf("keys add --account: %d %q %q", code, key, errs)
	}
	if _, errs, code := runCmd(t, "--db", db, "keys", "add", "--account", "acmee"); code != 1 || !strings.Contains(errs, `no account "acmee"`) {
		t.Errorf("unknown account: %d %q", code, errs)
	}
	if _, _, code := runCmd(t, "--db", db, "keys", "list", "--account", "acme"); code != 2 {
		t.Errorf("--account with list: exit %d", code)
	}
	list, _, _ := runCmd(t, "--db", db, "keys", "list")
	if strings.Count(list, " acme ") != 2 || strings.Contains(list, "acmee") {
		t.Errorf("keys list:\n%s", list)
	}
}
