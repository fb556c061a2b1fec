// Package netns gives tests a network namespace of their own with veth
// pairs in it, so live capture can be tested with real traffic that never
// touches the host's interfaces. Everything is made with ip(8) and removed
// when the test ends, whatever its outcome.
package netns

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// NS is a named network namespace (ip netns add).
type NS struct {
	Name string
}

var seq atomic.Int32

// New creates a namespace for the test and deletes it at cleanup. It skips
// the test, saying why, when not root or when namespaces cannot be made.
func New(t testing.TB) *NS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netns: needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("netns: ip(8) from iproute2 not found")
	}
	removeStale()
	ns := &NS{Name: fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), seq.Add(1))}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		t.Skipf("netns: cannot create a network namespace: %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			t.Errorf("netns: deleting %s: %v: %s", ns.Name, err, out)
		}
	})
	// No IPv6 autoconfiguration or router solicitations: the links carry
	// only the traffic a test sends.
	ns.Must(t, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
	ns.Must(t, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
	ns.Must(t, "ip", "link", "set", "lo", "up")
	return ns
}

// Veth creates a veth pair a <-> b inside the namespace with the given MTU
// and brings both ends up. The pair goes away with the namespace.
func (ns *NS) Veth(t testing.TB, a, b string, mtu int) {
	t.Helper()
	m := fmt.Sprint(mtu)
	ns.Must(t, "ip", "link", "add", a, "mtu", m, "type", "veth", "peer", "name", b, "mtu", m)
	ns.Must(t, "ip", "link", "set", a, "up")
	ns.Must(t, "ip", "link", "set", b, "up")
}

// Command returns cmd prepared to run inside the namespace (ip netns exec).
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Must runs a command inside the namespace and fails the test on error.
func (ns *NS) Must(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := ns.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("netns %s: %s %s: %v\n%s", ns.Name, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Do runs f on an OS thread switched into the namespace. Sockets made by f
// stay in the namespace for their whole life, whichever thread uses them
// later. The thread is discarded afterwards rather than switched back.
func (ns *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the goroutine's exit ends the thread, so no other
		// goroutine ever runs in the namespace by accident.
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+ns.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("netns %s: %w", ns.Name, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netns %s: setns: %w", ns.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

const prefix = "nfrtest-"

// removeStale deletes namespaces left by test processes that were killed
// before their cleanup ran (the pid in the name no longer exists).
func removeStale() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], prefix) {
			continue
		}
		var pid, n int
		if _, err := fmt.Sscanf(f[0][len(prefix):], "%d-%d", &pid, &n); err != nil {
			continue
		}
		if err := unix.Kill(pid, 0); err == unix.ESRCH {
			exec.Command("ip", "netns", "del", f[0]).Run()
		}
	}
}

// Replay writes the frames of a pcap onto iface in the namespace with
// tcpreplay at 20,000 frames a second; a test reading the veth peer sees
// them arrive. (At top speed on a loaded machine a burst can lose frames
// before any socket sees them, which no reader can count; the tests check
// the reader, so they replay at a rate the machine always carries.) It
// skips the test when tcpreplay is not installed.
func (ns *NS) Replay(t testing.TB, iface, pcap string) {
	t.Helper()
	if _, err := exec.LookPath("tcpreplay"); err != nil {
		t.Skip("netns: tcpreplay not installed (Debian package tcpreplay)")
	}
	ns.Must(t, "tcpreplay", "-q", "--pps=20000", "-i", iface, pcap)
}

// LinkStats are the counters ip -s link shows for an interface.
type LinkStats struct {
	RxPackets, RxDropped, TxPackets, TxDropped uint64
}

// Link reads the counters of an interface in the namespace from sysfs as
// seen inside it.
func (ns *NS) Link(t testing.TB, name string) LinkStats {
	t.Helper()
	out := ns.Must(t, "sh", "-c", "cd /sys/class/net/"+name+"/statistics && cat rx_packets rx_dropped tx_packets tx_dropped")
	var s LinkStats
	if _, err := fmt.Sscan(out, &s.RxPackets, &s.RxDropped, &s.TxPackets, &s.TxDropped); err != nil {
		t.Fatalf("netns: statistics of %s: %v: %q", name, err, out)
	}
	return s
}
