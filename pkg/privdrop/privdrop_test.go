package privdrop_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nfr-project/nfr/pkg/afpacket"
	"github.com/nfr-project/nfr/pkg/privdrop"
)

const helperEnv = "NFR_PRIVDROP_HELPER"

// TestDropToNobody re-executes the test binary as a child that opens an
// AF_PACKET socket as root, drops to nobody, and must then be unable to
// open another one while the first keeps working. Dropping is for the
// whole process, so it cannot run in the test process itself.
func TestDropToNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("privdrop: needs root to drop from")
	}
	if _, err := privdrop.Lookup("nobody"); err != nil {
		t.Skipf("privdrop: no user nobody on this system: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDropHelper$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"=nobody")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "dropped to nobody") {
		t.Fatalf("child did not report the drop:\n%s", out)
	}
	t.Logf("child:\n%s", out)
}

// TestDropHelper is the child of TestDropToNobody.
func TestDropHelper(t *testing.T) {
	name := os.Getenv(helperEnv)
	if name == "" {
		t.Skip("only run as the child of TestDropToNobody")
	}
	before, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		t.Fatalf("AF_PACKET socket as root: %v", err)
	}
	// A whole ring, as nfr-capture holds it when it drops root.
	c, err := afpacket.Open(afpacket.Config{Interfaces: []string{"lo"}, RingSize: 2 << 20, BlockSize: 1 << 20})
	if err != nil {
		t.Fatalf("AF_PACKET ring on lo as root: %v", err)
	}
	id, err := privdrop.Drop(name)
	if err != nil {
		t.Fatalf("Drop(%q): %v", name, err)
	}
	if id.UID == 0 {
		t.Fatalf("Drop(%q) kept uid 0", name)
	}
	if os.Getuid() != id.UID || os.Geteuid() != id.UID || os.Getgid() != id.GID {
		t.Fatalf("ids after Drop: uid %d euid %d gid %d, want %+v", os.Getuid(), os.Geteuid(), os.Getgid(), id)
	}
	groups, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if g == 0 {
			t.Fatalf("still in group 0 after Drop: %v", groups)
		}
	}
	if fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0); err == nil {
		unix.Close(fd)
		t.Fatal("opened a new AF_PACKET socket after dropping root")
	} else if !errors.Is(err, unix.EPERM) {
		t.Fatalf("new AF_PACKET socket after the drop: %v, want EPERM", err)
	}
	// The socket opened before the drop keeps working.
	if _, err := unix.GetsockoptTpacketStats(before, unix.SOL_PACKET, unix.PACKET_STATISTICS); err != nil {
		t.Fatalf("socket opened as root stopped working: %v", err)
	}
	c.Stats()
	if err := c.Close(); err != nil {
		t.Fatalf("closing the ring after the drop: %v", err)
	}
	if _, err := privdrop.Drop(name); !errors.Is(err, privdrop.ErrNotRoot) {
		t.Fatalf("second Drop: %v, want ErrNotRoot", err)
	}
	t.Logf("dropped to %s (uid %d gid %d groups %v)", id.User, id.UID, id.GID, groups)
}

func TestLookup(t *testing.T) {
	root, err := privdrop.Lookup("root")
	if err != nil {
		t.Skipf("no root in the user database: %v", err)
	}
	tests := []struct {
		name    string
		uid     int
		wantErr bool
	}{
		{"root", 0, false},
		{"0", 0, false},
		{"nfr-no-such-user", 0, true},
		{"4294967", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := privdrop.Lookup(tc.name)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Lookup(%q) error %v, want error %v", tc.name, err, tc.wantErr)
			}
			if err == nil && (id.UID != tc.uid || id.GID != root.GID || id.Groups[0] != id.GID) {
				t.Fatalf("Lookup(%q) = %+v", tc.name, id)
			}
			if err != nil && !strings.Contains(err.Error(), tc.name) {
				t.Fatalf("error %q does not name %q", err, tc.name)
			}
		})
	}
}
