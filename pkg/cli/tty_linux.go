package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// isTTY asks the terminal driver: only a terminal answers TCGETS.
func isTTY(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
