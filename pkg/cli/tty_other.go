//go:build !linux

package cli

import "os"

// isTTY falls back to the character-device test elsewhere.
func isTTY(*os.File) bool { return true }
