package account

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteKeyThroughLink: a config.yml that is a symbolic link stays one;
// the file it points to is edited, keeping its owner, group and mode.
func TestWriteKeyThroughLink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "etc", "nfr.yml")
	os.MkdirAll(filepath.Dir(real), 0o755)
	os.WriteFile(real, []byte("alphasoc:\n  api_key: \"\"\n"), 0o640)
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 { // as root, give it to a service user as a package would
		uid, gid = 65534, 65534
		if err := os.Chown(real, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "config.yml")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteKey(link, "K9", ""); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("config.yml is no longer a link: %v", err)
	}
	fi, _ := os.Stat(real)
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().Perm() != 0o640 || int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("mode %04o owner %d:%d, want 0640 %d:%d", fi.Mode().Perm(), st.Uid, st.Gid, uid, gid)
	}
	if b, _ := os.ReadFile(real); string(b) != "alphasoc:\n  api_key: \"K9\"\n" {
		t.Errorf("content %q", b)
	}
}
