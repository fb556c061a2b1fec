package tail

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"errors"
	"io"
)

// Errors of a gzip stream, in gzip(1)'s words, so a person sees the message
// gzip -t would give.
var (
	ErrGzipTruncated = errors.New("unexpected end of file")
	ErrGzipTrailing  = errors.New("decompression OK, trailing garbage ignored")
)

// gzipStream decompresses the gzip members of br one after the other, as
// gzip -d does: bytes after a whole member that do not start another are
// trailing garbage (ignored, reported as ErrGzipTrailing in place of
// io.EOF), and a member cut short is ErrGzipTruncated.
type gzipStream struct {
	br  *bufio.Reader
	zr  *gzip.Reader
	err error
}

func newGzipStream(br *bufio.Reader) (*gzipStream, error) {
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, gzipError(err)
	}
	zr.Multistream(false)
	return &gzipStream{br: br, zr: zr}, nil
}

func (g *gzipStream) Read(p []byte) (int, error) {
	for g.err == nil {
		n, err := g.zr.Read(p)
		if err == io.EOF {
			// A whole member: then the end, another member, or garbage.
			if _, perr := g.br.Peek(1); perr == io.EOF {
				g.err = io.EOF
			} else if rerr := g.zr.Reset(g.br); rerr != nil {
				g.err = ErrGzipTrailing
			} else {
				g.zr.Multistream(false)
			}
		} else if err != nil {
			g.err = gzipError(err)
		}
		if n > 0 {
			return n, nil
		}
	}
	return 0, g.err
}

func gzipError(err error) error {
	var ce flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return ErrGzipTruncated
	case errors.Is(err, gzip.ErrChecksum):
		return errors.New("invalid compressed data--crc error")
	case errors.As(err, &ce), errors.Is(err, gzip.ErrHeader):
		return errors.New("invalid compressed data--format violated")
	}
	return err
}
