package event

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxLine is the longest line a Reader accepts; longer lines are skipped.
const MaxLine = 1 << 20

// A Reader splits a stream into event lines. It skips blank lines, strips
// CRLF, and skips (counting them, and reporting each through Warn) lines over
// MaxLine and lines that are not JSON objects.
type Reader struct {
	Name string // file name for messages; "-" or "" is stdin
	// Warn, if set, is called for every skipped line with a message that
	// names the file and line, such as "dns.json:12: not a JSON object".
	Warn func(msg string)

	br      *bufio.Reader
	lineNum int64
	skipped int64
	buf     []byte
}

// NewReader returns a Reader over r; name is used in messages.
func NewReader(r io.Reader, name string) *Reader {
	if name == "" {
		name = "-"
	}
	return &Reader{Name: name, br: bufio.NewReaderSize(r, 256<<10)}
}

// Line returns the number of the line last returned (1-based).
func (r *Reader) Line() int64 { return r.lineNum }

// Skipped returns how many lines were skipped as bad.
func (r *Reader) Skipped() int64 { return r.skipped }

// Next returns the next event line, without its line ending. The slice is
// valid until the following call. At the end of input it returns io.EOF; any
// other error is a read error of the underlying reader.
func (r *Reader) Next() ([]byte, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		if line == nil { // over-long, already reported
			continue
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' || line[len(line)-1] != '}' {
			r.skip("not a JSON object")
			continue
		}
		return line, nil
	}
}

// Skip reports the current line as bad (for errors found while decoding it).
func (r *Reader) Skip(reason string) { r.skip(reason) }

func (r *Reader) skip(reason string) {
	r.skipped++
	if r.Warn != nil {
		r.Warn(fmt.Sprintf("%s:%d: %s", r.Name, r.lineNum, reason))
	}
}

// readLine returns one line, or nil (and no error) for a line over MaxLine.
func (r *Reader) readLine() ([]byte, error) {
	r.buf = r.buf[:0]
	tooLong := false
	for {
		frag, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(r.buf)+len(frag) > MaxLine+2 { // allow for CRLF
				tooLong = true
				r.buf = r.buf[:0]
			} else if len(r.buf) == 0 && err == nil {
				r.lineNum++
				return frag, nil // common case: no copy
			} else {
				r.buf = append(r.buf, frag...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			if len(r.buf) == 0 && !tooLong {
				return nil, io.EOF
			}
			err = nil
		}
		if err != nil {
			return nil, err
		}
		r.lineNum++
		if tooLong {
			r.skip(fmt.Sprintf("line longer than %d bytes", MaxLine))
			return nil, nil
		}
		return r.buf, nil
	}
}
