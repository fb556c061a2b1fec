package event

import "unsafe"

// arenaChunk is the size of one block of an Arena: large enough that a
// block serves hundreds of names, small enough that one string kept alive
// longer than its event pins little.
const arenaChunk = 32 << 10

// An Arena makes strings for events out of bytes a decoder reuses, with one
// allocation per block of many strings instead of one per string. Bytes
// once handed out are never written again: a full block is left to the
// garbage collector, which frees it when no string points into it any more.
// An Arena is used by one goroutine.
type Arena struct {
	buf []byte
}

// String returns b as a string; b may be reused once String returns. A nil
// Arena allocates each string on its own, so that a decoder with an arena
// and one without share one path.
func (a *Arena) String(b []byte) string {
	switch {
	case a == nil:
		return string(b)
	case len(b) == 0:
		return ""
	case len(b) > arenaChunk/8:
		return string(b)
	case cap(a.buf)-len(a.buf) < len(b):
		a.buf = make([]byte, 0, arenaChunk)
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return unsafe.String(&a.buf[start], len(b))
}
