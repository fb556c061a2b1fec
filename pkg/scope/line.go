package scope

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/nfr-project/nfr/pkg/event"
)

// fields are the parts of an event line the scope needs, found by one scan
// of the top-level object: the values' byte ranges inside the line (string
// contents without quotes) and where an existing "groups" value and the
// closing brace are. Nothing else is decoded.
type fields struct {
	typ, src, dst, query, host, sni span
	groups                          span // the whole value, when the key exists
	end                             int  // index of the closing '}'
}

type span struct {
	start, end int32
	ok         bool // the key was present with a string value
	seen       bool // the key was present (a string or null)
	escaped    bool // the string holds backslash escapes
}

var (
	errNotObject = errors.New("not a JSON object")
	errTruncated = errors.New("unterminated JSON object")
)

// scan fills f from line, a JSON object (already trimmed). It checks the
// top-level structure (keys, colons, commas, balanced nesting) but not the
// contents of values it skips. With early, it stops as soon as it has every
// field the event's type needs (the rest of the line is passed on as it is,
// not checked); it then looks for a "groups" key in the rest, and scans the
// whole line if there may be one.
func (f *fields) scan(line []byte, early bool) error {
	*f = fields{}
	i := skipWS(line, 0)
	if i >= len(line) || line[i] != '{' {
		return errNotObject
	}
	i = skipWS(line, i+1)
	if i < len(line) && line[i] == '}' {
		f.end = i
		return f.trailing(line, i+1)
	}
	for {
		if i >= len(line) || line[i] != '"' {
			return syntaxError(line, i, "expected a key")
		}
		kend, esc := stringEnd(line, i+1)
		if kend < 0 {
			return errTruncated
		}
		key := line[i+1 : kend]
		i = skipWS(line, kend+1)
		if i >= len(line) || line[i] != ':' {
			return syntaxError(line, i, "expected ':'")
		}
		i = skipWS(line, i+1)
		if i >= len(line) {
			return errTruncated
		}
		var dst *span
		if !esc {
			switch string(key) {
			case "type":
				dst = &f.typ
			case "srcIP":
				dst = &f.src
			case "destIP":
				dst = &f.dst
			case "query":
				dst = &f.query
			case "host":
				dst = &f.host
			case "sni":
				dst = &f.sni
			case "groups":
				vend, err := valueEnd(line, i)
				if err != nil {
					return err
				}
				f.groups = span{start: int32(i), end: int32(vend), ok: true}
				i = vend
				dst = nil
				goto next
			}
		}
		if line[i] == '"' {
			vend, vesc := stringEnd(line, i+1)
			if vend < 0 {
				return errTruncated
			}
			if dst != nil {
				*dst = span{start: int32(i + 1), end: int32(vend), ok: true, seen: true, escaped: vesc}
			}
			i = vend + 1
			if early && dst != nil && f.complete(line) {
				return f.stop(line, i)
			}
		} else {
			if dst != nil {
				// null is absence; any other value is an error for these keys.
				*dst = span{seen: true}
				if !bytes.HasPrefix(line[i:], []byte("null")) {
					return fmt.Errorf("field %q: not a string", key)
				}
			}
			vend, err := valueEnd(line, i)
			if err != nil {
				return err
			}
			i = vend
		}
	next:
		i = skipWS(line, i)
		if i >= len(line) {
			return errTruncated
		}
		switch line[i] {
		case ',':
			i = skipWS(line, i+1)
		case '}':
			f.end = i
			return f.trailing(line, i+1)
		default:
			return syntaxError(line, i, "expected ',' or '}'")
		}
	}
}

// complete reports whether f holds every field its type needs.
func (f *fields) complete(line []byte) bool {
	if !f.typ.ok || f.typ.escaped {
		return false
	}
	switch KindOf(string(line[f.typ.start:f.typ.end])) {
	case KindOther:
		return true
	case KindDNS:
		return f.src.seen && f.query.seen
	case KindIP:
		return f.src.seen && f.dst.seen
	case KindHTTP:
		return f.src.seen && f.dst.seen && f.host.seen
	case KindTLS:
		return f.src.seen && f.dst.seen && f.sni.seen
	}
	return false
}

// stop ends an early scan at i: the object's end is the line's last byte.
func (f *fields) stop(line []byte, i int) error {
	end := len(line) - 1
	for end > i && (line[end] == ' ' || line[end] == '\t' || line[end] == '\r' || line[end] == '\n') {
		end--
	}
	if end < i || line[end] != '}' {
		return errTruncated
	}
	if mayHaveGroups(line[i:end]) {
		return f.scan(line, false)
	}
	f.end = end
	return nil
}

// mayHaveGroups reports whether b holds the text "groups" (as a key or
// not). 'g' is rare in event lines, so it is the byte to look for.
func mayHaveGroups(b []byte) bool {
	for {
		j := bytes.IndexByte(b, 'g')
		if j < 0 {
			return false
		}
		if j > 0 && b[j-1] == '"' && bytes.HasPrefix(b[j:], []byte(`groups"`)) {
			return true
		}
		b = b[j+1:]
	}
}

func (f *fields) trailing(line []byte, i int) error {
	if i = skipWS(line, i); i < len(line) {
		return syntaxError(line, i, "data after the object")
	}
	return nil
}

func syntaxError(line []byte, i int, what string) error {
	if i >= len(line) {
		return errTruncated
	}
	return fmt.Errorf("bad JSON at byte %d: %s", i+1, what)
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index of the quote closing the string whose
// contents start at i, and whether it holds escapes; -1 if unterminated.
// It looks at 8 bytes at a time for a quote or a backslash (event strings
// are too short for bytes.IndexByte's setup to pay off).
func stringEnd(b []byte, i int) (int, bool) {
	esc := false
	for {
		for i+8 <= len(b) {
			v := binary.LittleEndian.Uint64(b[i:])
			if m := hasByte(v, '"') | hasByte(v, '\\'); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(b) {
			return -1, esc
		}
		switch b[i] {
		case '"':
			return i, esc
		case '\\':
			esc = true
			i += 2
		default:
			i++
		}
	}
}

// hasByte returns a word whose lowest set bit marks the first byte of v
// equal to c (higher bits may be false positives); 0 if there is none.
func hasByte(v uint64, c byte) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	x := v ^ (lo * uint64(c))
	return (x - lo) &^ x & hi
}

// valueEnd returns the index just past the value starting at i.
func valueEnd(b []byte, i int) (int, error) {
	switch b[i] {
	case '"':
		e, _ := stringEnd(b, i+1)
		if e < 0 {
			return 0, errTruncated
		}
		return e + 1, nil
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				e, _ := stringEnd(b, i+1)
				if e < 0 {
					return 0, errTruncated
				}
				i = e + 1
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errTruncated
	default:
		// number, true, false, null
		j := i
		for j < len(b) {
			c := b[j]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				break
			}
			j++
		}
		if j == i {
			return 0, syntaxError(b, i, "expected a value")
		}
		return j, nil
	}
}

// str returns the string a span holds, unescaping into buf when needed.
func (s span) str(line, buf []byte) ([]byte, error) {
	raw := line[s.start:s.end]
	if !s.escaped {
		return raw, nil
	}
	return event.AppendUnquoted(buf[:0], raw)
}
