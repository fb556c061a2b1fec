//go:build !linux

package alert

import "net"

func unacked(c net.Conn) int { return -1 }
