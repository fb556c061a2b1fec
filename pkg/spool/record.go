package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// On disk a segment is the 8-byte magic followed by records, each
//
//	uint32 LE  payload length
//	uint32 LE  CRC-32C (Castagnoli) of the payload
//	payload    one event line, without its newline
//
// A write cut short by a crash or a full disk leaves a torn last record,
// which the reader detects by its length or checksum.
const (
	magic      = "NFRSPL1\n"
	headerSize = 8
	// MaxRecord is the longest payload a reader accepts; anything longer is
	// corruption (event lines are at most event.MaxLine).
	MaxRecord = 8 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord appends line as one record to dst.
func appendRecord(dst, line []byte) []byte {
	var h [headerSize]byte
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(line)))
	binary.LittleEndian.PutUint32(h[4:8], crc32.Checksum(line, castagnoli))
	dst = append(dst, h[:]...)
	return append(dst, line...)
}

// CorruptError says where a segment stops being readable.
type CorruptError struct {
	Offset int64 // of the first bad byte; everything before it is good
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("offset %d: %s", e.Offset, e.Reason)
}

// ErrNoMagic means the bytes are not a spool segment at all.
var ErrNoMagic = errors.New("not a spool segment (bad magic)")

// Records calls fn for every record of the segment bytes b, in order. It
// stops at the first bad record and returns a *CorruptError whose Offset is
// the end of the last good one. The payload slices alias b.
func Records(b []byte, fn func(payload []byte)) error {
	if len(b) < len(magic) {
		if string(b) == magic[:len(b)] {
			return &CorruptError{Offset: 0, Reason: "truncated segment header"}
		}
		return ErrNoMagic
	}
	if string(b[:len(magic)]) != magic {
		return ErrNoMagic
	}
	off := len(magic)
	for off < len(b) {
		if len(b)-off < headerSize {
			return &CorruptError{Offset: int64(off), Reason: "torn record header"}
		}
		n := binary.LittleEndian.Uint32(b[off : off+4])
		sum := binary.LittleEndian.Uint32(b[off+4 : off+8])
		if n > MaxRecord {
			return &CorruptError{Offset: int64(off), Reason: fmt.Sprintf("record length %d is too large", n)}
		}
		end := off + headerSize + int(n)
		if end > len(b) {
			return &CorruptError{Offset: int64(off), Reason: "torn record"}
		}
		p := b[off+headerSize : end]
		if crc32.Checksum(p, castagnoli) != sum {
			return &CorruptError{Offset: int64(off), Reason: "checksum mismatch"}
		}
		fn(p)
		off = end
	}
	return nil
}
