//go:build !linux

package check

import "errors"

// OpenPacket is only implemented on Linux.
func OpenPacket(iface string) error { return errors.New("not supported on this system") }
