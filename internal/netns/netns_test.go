package netns_test

import (
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/netns"
)

// TestNamespace checks that a veth pair made in a namespace is visible
// only inside it, and that the namespace is gone after cleanup.
func TestNamespace(t *testing.T) {
	var name string
	t.Run("make", func(t *testing.T) {
		ns := netns.New(t)
		name = ns.Name
		ns.Veth(t, "nfrx0", "nfrx1", 1500)
		if err := ns.Do(func() error {
			_, err := net.InterfaceByName("nfrx1")
			return err
		}); err != nil {
			t.Fatalf("nfrx1 not visible inside the namespace: %v", err)
		}
		if _, err := net.InterfaceByName("nfrx1"); err == nil {
			t.Fatal("nfrx1 visible outside the namespace")
		}
		if st := ns.Link(t, "nfrx1"); st.RxPackets != 0 {
			t.Errorf("fresh link has counters %+v", st)
		}
	})
	if name == "" {
		return // skipped: not root or no namespaces
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), name) {
		t.Errorf("namespace %s left behind", name)
	}
}
