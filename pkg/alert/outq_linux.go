package alert

import (
	"net"

	"golang.org/x/sys/unix"
)

// unacked returns how many bytes written to c the peer's TCP has not yet
// acknowledged (SIOCOUTQ), or -1 when that cannot be known.
func unacked(c net.Conn) int {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return -1
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return -1
	}
	n := -1
	rc.Control(func(fd uintptr) {
		if v, err := unix.IoctlGetInt(int(fd), unix.SIOCOUTQ); err == nil {
			n = v
		}
	})
	return n
}
