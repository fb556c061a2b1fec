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
	return Scan(b, fn, nil)
}

// A BadRecord is a record Scan skipped: the bytes [Offset, End) of the
// segment, and why.
type BadRecord struct {
	Offset, End int64
	Reason      string
}

// Scan is Records that, given bad, skips a bad record in the middle of a
// segment instead of stopping there: a record is framed by its length, so
// when the length leads to a good record (or the end of the segment), or a
// good record can be found further on by its checksum, only the bad bytes
// are lost, and they go to bad. What cannot be read up to the end (a torn
// last record) is returned as a *CorruptError, as by Records.
func Scan(b []byte, fn func(payload []byte), bad func(BadRecord)) error {
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
		p, end, reason := recordAt(b, off)
		if reason == "" {
			fn(p)
			off = end
			continue
		}
		next := -1
		if bad != nil {
			next = resync(b, off)
		}
		if next < 0 {
			return &CorruptError{Offset: int64(off), Reason: reason}
		}
		bad(BadRecord{Offset: int64(off), End: int64(next), Reason: reason})
		off = next
	}
	return nil
}

// recordAt reads the record at off: its payload and end, or why it is bad.
func recordAt(b []byte, off int) (payload []byte, end int, reason string) {
	if len(b)-off < headerSize {
		return nil, 0, "torn record header"
	}
	n := binary.LittleEndian.Uint32(b[off : off+4])
	sum := binary.LittleEndian.Uint32(b[off+4 : off+8])
	if n > MaxRecord {
		return nil, 0, fmt.Sprintf("record length %d is too large", n)
	}
	end = off + headerSize + int(n)
	if end > len(b) {
		return nil, 0, "torn record"
	}
	p := b[off+headerSize : end]
	if crc32.Checksum(p, castagnoli) != sum {
		return nil, 0, "checksum mismatch"
	}
	return p, end, ""
}

// resync returns where the records after a bad one at off start: the end
// its length field gives if a good record or the segment's end is there,
// else the first offset holding a whole, non-empty record with a matching
// checksum; -1 if there is none.
func resync(b []byte, off int) int {
	if len(b)-off >= headerSize {
		n := binary.LittleEndian.Uint32(b[off : off+4])
		if end := off + headerSize + int(n); n <= MaxRecord && end <= len(b) && (end == len(b) || goodAt(b, end)) {
			return end
		}
	}
	for o := off + 1; o+headerSize < len(b); o++ {
		if goodAt(b, o) {
			return o
		}
	}
	return -1
}

func goodAt(b []byte, off int) bool {
	p, _, reason := recordAt(b, off)
	return reason == "" && len(p) > 0
}
