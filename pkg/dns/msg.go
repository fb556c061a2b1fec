// Package dns parses DNS messages from untrusted bytes and turns queries and
// responses seen on the wire into dns events the way Zeek's dns.log does:
// one event per question, paired with its response on addresses, ports and
// transaction id, answers written as text.
package dns

import (
	"encoding/binary"
	"errors"
)

// Errors of Parse. A message that fails part-way keeps what was parsed
// before the damage.
var (
	ErrShort       = errors.New("message shorter than its header")
	ErrTruncated   = errors.New("truncated record")
	ErrBadPointer  = errors.New("bad compression pointer")
	ErrPointerLoop = errors.New("compression pointer loop")
	ErrLongName    = errors.New("name longer than 255 bytes")
	ErrBadLabel    = errors.New("bad label type")
)

// Header flag bits.
const (
	flagQR = 0x8000
	flagAA = 0x0400
	flagTC = 0x0200
	flagRD = 0x0100
	flagRA = 0x0080
)

// Question is one entry of the question section; Name indexes Message's
// name buffer.
type Question struct {
	name        nameRef
	Type, Class uint16
}

// RR is one resource record; its rdata is Message.RData. It holds no
// pointer, so the answer list is filled with plain copies.
type RR struct {
	name         nameRef
	Type, Class  uint16
	TTL          uint32
	rdOff, rdLen int32 // the rdata in the message (compressed names inside it point there too)
}

type nameRef struct{ start, end int32 }

// Message is a parsed DNS message. Parse reuses its buffers: a Message is
// meant to be kept and parsed into again, so the hot path allocates nothing.
type Message struct {
	ID      uint16
	Flags   uint16
	QDCount uint16
	ANCount uint16
	NSCount uint16
	ARCount uint16

	Questions []Question
	Answers   []RR // the answer section only, as dns.log has it
	// ExtRCode is the upper 8 bits of the response code from an EDNS OPT
	// record in the additional section (RFC 6891), 0 without one.
	ExtRCode uint8
	HasOPT   bool

	msg   []byte
	names []byte
}

// Response reports the QR bit.
func (m *Message) Response() bool { return m.Flags&flagQR != 0 }

// Opcode returns the operation code.
func (m *Message) Opcode() uint8 { return uint8(m.Flags>>11) & 0xf }

// RCode returns the response code, with the EDNS extended bits when an OPT
// record carries them (BADVERS, BADCOOKIE, ...).
func (m *Message) RCode() uint16 { return uint16(m.ExtRCode)<<4 | m.Flags&0xf }

// AA, TC, RD, RA report the header flags.
func (m *Message) AA() bool { return m.Flags&flagAA != 0 }
func (m *Message) TC() bool { return m.Flags&flagTC != 0 }
func (m *Message) RD() bool { return m.Flags&flagRD != 0 }
func (m *Message) RA() bool { return m.Flags&flagRA != 0 }

// QName returns the name of question i as on the wire (original case,
// labels joined with dots, no trailing dot; raw bytes, not escaped).
func (m *Message) QName(i int) []byte {
	r := m.Questions[i].name
	return m.names[r.start:r.end]
}

// RData returns the rdata of answer i.
func (m *Message) RData(i int) []byte { return m.rdata(&m.Answers[i]) }

func (m *Message) rdata(rr *RR) []byte { return m.msg[rr.rdOff : rr.rdOff+rr.rdLen] }

// RRName returns the owner name of answer i.
func (m *Message) RRName(i int) []byte {
	r := m.Answers[i].name
	return m.names[r.start:r.end]
}

// Parse parses msg into m. On error m holds the header and every question
// and answer before the damage. msg must stay unchanged while m is used.
func (m *Message) Parse(msg []byte) error {
	m.Questions = m.Questions[:0]
	m.Answers = m.Answers[:0]
	m.names = m.names[:0]
	m.msg = msg
	m.ExtRCode, m.HasOPT = 0, false
	if len(msg) < 12 {
		return ErrShort
	}
	m.ID = binary.BigEndian.Uint16(msg)
	m.Flags = binary.BigEndian.Uint16(msg[2:])
	m.QDCount = binary.BigEndian.Uint16(msg[4:])
	m.ANCount = binary.BigEndian.Uint16(msg[6:])
	m.NSCount = binary.BigEndian.Uint16(msg[8:])
	m.ARCount = binary.BigEndian.Uint16(msg[10:])
	off := 12
	// Answers almost always name their owner with a pointer to the first
	// question (offset 12); when that name is written without pointers,
	// the decoded copy is shared instead of decoding it again.
	var q0 nameRef
	q0Plain := false
	// Counts are untrusted: every question takes at least 5 bytes and every
	// record 11, so the loops end with the message whatever they claim.
	for i := 0; i < int(m.QDCount); i++ {
		var ref nameRef
		var err error
		start := off
		ref, off, err = m.readName(off)
		if err != nil {
			return err
		}
		if i == 0 {
			// Without pointers the name takes two bytes more on the
			// wire than decoded (the first length and the root label);
			// with one it takes fewer.
			q0, q0Plain = ref, off-start == int(ref.end-ref.start)+2
		}
		if off+4 > len(msg) {
			return ErrTruncated
		}
		m.Questions = append(m.Questions, Question{name: ref, Type: binary.BigEndian.Uint16(msg[off:]), Class: binary.BigEndian.Uint16(msg[off+2:])})
		off += 4
	}
	for i := 0; i < int(m.ANCount); i++ {
		var ref nameRef
		var err error
		if q0Plain && off+2 <= len(msg) && msg[off] == 0xc0 && msg[off+1] == 12 {
			ref, off = q0, off+2
		} else if ref, off, err = m.readName(off); err != nil {
			return err
		}
		if off+10 > len(msg) {
			return ErrTruncated
		}
		rr := RR{
			name:  ref,
			Type:  binary.BigEndian.Uint16(msg[off:]),
			Class: binary.BigEndian.Uint16(msg[off+2:]),
			TTL:   binary.BigEndian.Uint32(msg[off+4:]),
		}
		n := int(binary.BigEndian.Uint16(msg[off+8:]))
		off += 10
		if off+n > len(msg) {
			return ErrTruncated
		}
		rr.rdOff, rr.rdLen = int32(off), int32(n)
		off += n
		m.Answers = append(m.Answers, rr)
	}
	if m.ARCount == 0 {
		return nil
	}
	// Walk authority and additional records only to find the OPT record.
	for i := 0; i < int(m.NSCount)+int(m.ARCount); i++ {
		var err error
		if off, err = skipName(msg, off); err != nil {
			return err
		}
		if off+10 > len(msg) {
			return ErrTruncated
		}
		typ := binary.BigEndian.Uint16(msg[off:])
		if typ == TypeOPT && i >= int(m.NSCount) && !m.HasOPT {
			m.HasOPT = true
			m.ExtRCode = msg[off+4]
		}
		off += 10 + int(binary.BigEndian.Uint16(msg[off+8:]))
		if off > len(msg) {
			return ErrTruncated
		}
	}
	return nil
}

// skipName returns the offset after the name at off without decoding it.
func skipName(msg []byte, off int) (int, error) {
	for {
		if off >= len(msg) {
			return off, ErrTruncated
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				return off + 1, nil
			}
			off += 1 + c
		case 0xc0:
			if off+2 > len(msg) {
				return off, ErrTruncated
			}
			return off + 2, nil
		default:
			return off, ErrBadLabel
		}
	}
}

// readName decodes the name at off into the name buffer and returns the
// offset after it in the message.
func (m *Message) readName(off int) (nameRef, int, error) {
	start := len(m.names)
	var err error
	m.names, off, err = appendName(m.names, m.msg, off)
	return nameRef{int32(start), int32(len(m.names))}, off, err
}

// maxPointers bounds the compression pointers followed in one name; a
// legitimate name of at most 127 labels never needs more.
const maxPointers = 128

// appendName appends the name at off in msg to dst (labels joined by dots,
// no trailing dot) and returns the offset after the name as written at off.
// Pointers may point anywhere in the message but are bounded in number, so
// loops end with ErrPointerLoop.
func appendName(dst, msg []byte, off int) ([]byte, int, error) {
	end := -1
	start := len(dst)
	for hops := 0; ; {
		if off >= len(msg) {
			return dst, off, ErrTruncated
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				if end < 0 {
					end = off + 1
				}
				return dst, end, nil
			}
			if off+1+c > len(msg) {
				return dst, off, ErrTruncated
			}
			if len(dst) > start {
				dst = append(dst, '.')
			}
			dst = append(dst, msg[off+1:off+1+c]...)
			if len(dst)-start > 255 {
				return dst, off, ErrLongName
			}
			off += 1 + c
		case 0xc0:
			if off+2 > len(msg) {
				return dst, off, ErrTruncated
			}
			if end < 0 {
				end = off + 2
			}
			ptr := int(binary.BigEndian.Uint16(msg[off:]) & 0x3fff)
			if ptr >= len(msg) {
				return dst, off, ErrBadPointer
			}
			hops++
			if hops > maxPointers {
				return dst, off, ErrPointerLoop
			}
			off = ptr
		default:
			return dst, off, ErrBadLabel
		}
	}
}
