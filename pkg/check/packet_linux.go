package check

import (
	"net"
	"syscall"
)

// OpenPacket opens and binds an AF_PACKET socket on iface, as a capture
// does: it fails with EPERM without CAP_NET_RAW.
func OpenPacket(iface string) error {
	const ethPAll = 0x0003
	proto := int(ethPAll>>8 | (ethPAll&0xff)<<8) // htons
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, proto)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	sa := &syscall.SockaddrLinklayer{Protocol: uint16(proto)}
	if iface != "any" {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		sa.Ifindex = ifi.Index
	}
	return syscall.Bind(fd, sa)
}
