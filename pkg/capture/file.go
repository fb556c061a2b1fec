// Package capture reads frames from capture files (pcap, pcapng, gzip) and
// live interfaces (libpcap), and runs them through the decoder into the
// analysers. Sources implement decode.Source, so a file and an interface
// share one decode path.
package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nfr-project/nfr/pkg/decode"
)

// maxRecord bounds one pcap record or pcapng block, so a corrupt length
// cannot make the reader allocate without limit. libpcap refuses captured
// lengths above 262144 for most link types; pcapng blocks may carry more.
const (
	maxPcapCapLen = 262144
	maxBlock      = 16 << 20
	bufSize       = 1 << 20
)

// FormatError is a damaged capture file: everything before Offset was read.
// Offset counts bytes of the (decompressed) capture stream.
type FormatError struct {
	Name   string
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: %s at offset %d", e.Name, e.Msg, e.Offset)
}

// FileStats counts what a file reader skipped.
type FileStats struct {
	SkippedBlocks uint64 // pcapng blocks that carry no packet for us (NRB, ISB, custom, SPB, unknown)
	SimplePackets uint64 // pcapng simple packet blocks skipped: they carry no timestamp
}

type fileFormat int

const (
	formatPcap fileFormat = iota + 1
	formatPcapng
)

type iface struct {
	link    uint16
	resDiv  uint64 // ticks per second
	pow2    uint8  // when non-zero, resolution is 2^-pow2
	offsetS int64
}

// File reads a pcap or pcapng stream without copying packets: ReadPacket
// returns slices of one large buffer, valid until the next call.
type File struct {
	name   string
	r      io.Reader
	pre    *prefetcher
	closer io.Closer

	buf        []byte
	start, end int   // unread bytes are buf[start:end]
	base       int64 // stream offset of buf[0]
	eof        bool
	rerr       error

	format fileFormat
	order  binary.ByteOrder
	// pcap
	nano    bool
	link    uint16
	snaplen uint32
	// pcapng
	ifaces []iface

	Stats FileStats
	// Poll makes ReadPacket return an error whose Timeout() is true when a
	// stream (a pipe) has stalled for a while, so the caller can serve
	// signals; the next call carries on. Off, ReadPacket just waits.
	Poll bool
}

// NewFile reads a capture from r; name is used in errors. Gzip-compressed
// streams are recognised by their magic and decompressed.
func NewFile(r io.Reader, name string) (*File, error) {
	f := &File{name: name, buf: make([]byte, bufSize)}
	if c, ok := r.(io.Closer); ok {
		f.closer = c
	}
	// The first bytes tell gzip from a capture. Reading (and
	// decompressing) then runs ahead on a goroutine of its own, so the
	// decoding goroutine does not wait in read(2).
	br := bufio.NewReaderSize(r, 64<<10)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &FormatError{Name: name, Msg: "bad gzip header: " + err.Error()}
		}
		zr.Multistream(true)
		src = zr
	}
	f.pre = newPrefetcher(src)
	f.r = f.pre
	if err := f.readHeader(); err != nil {
		f.pre.stop()
		return nil, err
	}
	return f, nil
}

// Name returns the name given to NewFile.
func (f *File) Name() string { return f.name }

// Close closes the underlying reader when it is a Closer.
func (f *File) Close() error {
	var err error
	if f.closer != nil {
		err = f.closer.Close()
	}
	if f.pre != nil {
		f.pre.stop()
	}
	return err
}

func (f *File) offset() int64 { return f.base + int64(f.start) }

func (f *File) errorf(off int64, format string, args ...any) error {
	return &FormatError{Name: f.name, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// fill makes at least n unread bytes available. It returns io.EOF when the
// stream ended cleanly before any of them, io.ErrUnexpectedEOF when it ended
// part-way.
func (f *File) fill(n int) error {
	if f.end-f.start >= n {
		return nil
	}
	if n > len(f.buf) {
		nb := make([]byte, max(n, 2*len(f.buf)))
		copy(nb, f.buf[f.start:f.end])
		f.base += int64(f.start)
		f.end -= f.start
		f.start = 0
		f.buf = nb
	} else if f.start+n > len(f.buf) {
		copy(f.buf, f.buf[f.start:f.end])
		f.base += int64(f.start)
		f.end -= f.start
		f.start = 0
	}
	for f.end-f.start < n {
		if f.eof {
			if f.rerr != nil {
				return f.rerr
			}
			if f.end == f.start {
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		}
		m, err := f.r.Read(f.buf[f.end:])
		f.end += m
		if isTimeout(err) {
			if f.Poll {
				return err // nothing yet from a pipe: the caller may retry
			}
			continue
		}
		if err != nil {
			f.eof = true
			if err != io.EOF {
				f.rerr = err
			}
		}
	}
	return nil
}

func (f *File) readHeader() error {
	err := f.fill(24)
	for isTimeout(err) {
		err = f.fill(24)
	}
	if err != nil {
		if err == io.EOF {
			return f.errorf(0, "empty file, not a capture")
		}
		if err == io.ErrUnexpectedEOF {
			if f.end-f.start >= 4 && isMagic(f.buf[f.start:f.start+4]) {
				return f.errorf(f.offset(), "truncated file header")
			}
			return f.errorf(0, "not a pcap or pcapng file")
		}
		return &FormatError{Name: f.name, Msg: err.Error()}
	}
	h := f.buf[f.start : f.start+24]
	switch {
	case bytes.Equal(h[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}):
		f.format = formatPcapng
		return nil // the section header is read as a block
	case binary.LittleEndian.Uint32(h) == 0xa1b2c3d4:
		f.order = binary.LittleEndian
	case binary.BigEndian.Uint32(h) == 0xa1b2c3d4:
		f.order = binary.BigEndian
	case binary.LittleEndian.Uint32(h) == 0xa1b23c4d:
		f.order, f.nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(h) == 0xa1b23c4d:
		f.order, f.nano = binary.BigEndian, true
	default:
		return f.errorf(0, "not a pcap or pcapng file (magic %x)", h[:4])
	}
	f.format = formatPcap
	if major := f.order.Uint16(h[4:]); major != 2 {
		return f.errorf(4, "unsupported pcap version %d.%d", major, f.order.Uint16(h[6:]))
	}
	f.snaplen = f.order.Uint32(h[16:])
	f.link = uint16(f.order.Uint32(h[20:]) & 0xffff)
	f.start += 24
	return nil
}

func isMagic(b []byte) bool {
	switch binary.BigEndian.Uint32(b) {
	case 0x0a0d0d0a, 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		return true
	}
	return false
}

// ReadPacket returns the next frame. At the end of the stream it returns
// io.EOF; on damage, a *FormatError naming the offset.
func (f *File) ReadPacket() ([]byte, decode.CaptureInfo, error) {
	if f.format == formatPcap {
		return f.readPcap()
	}
	return f.readPcapng()
}

func (f *File) readPcap() ([]byte, decode.CaptureInfo, error) {
	var ci decode.CaptureInfo
	off := f.offset()
	if err := f.fill(16); err != nil {
		if err == io.EOF {
			return nil, ci, io.EOF
		}
		return nil, ci, f.ioError(off, "truncated packet header", err)
	}
	h := f.buf[f.start : f.start+16]
	sec := f.order.Uint32(h)
	frac := f.order.Uint32(h[4:])
	capLen := f.order.Uint32(h[8:])
	wireLen := f.order.Uint32(h[12:])
	limit := uint32(maxPcapCapLen)
	if f.snaplen > limit && f.snaplen <= maxBlock {
		limit = f.snaplen
	}
	if capLen > limit {
		return nil, ci, f.errorf(off, "invalid packet capture length %d, bigger than maximum of %d", capLen, limit)
	}
	if err := f.fill(16 + int(capLen)); err != nil {
		return nil, ci, f.ioError(off, "truncated packet record", err)
	}
	data := f.buf[f.start+16 : f.start+16+int(capLen)]
	f.start += 16 + int(capLen)
	ns := int64(frac)
	if !f.nano {
		ns *= 1000
	}
	ci.TS = time.Unix(int64(sec), ns).UTC()
	ci.CapLen = int(capLen)
	ci.WireLen = int(max(wireLen, capLen))
	ci.LinkType = f.link
	return data, ci, nil
}

func (f *File) ioError(off int64, msg string, err error) error {
	if isTimeout(err) {
		return err
	}
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return f.errorf(off, "%s", msg)
	}
	var fe *FormatError
	if errors.As(err, &fe) {
		return err
	}
	return f.errorf(off, "%s: %v", msg, err)
}

// pcapng block types.
const (
	blockSHB    = 0x0a0d0d0a
	blockIDB    = 1
	blockOPB    = 2 // obsolete packet block
	blockSPB    = 3
	blockEPB    = 6
	byteOrderBO = 0x1a2b3c4d
)

func (f *File) readPcapng() ([]byte, decode.CaptureInfo, error) {
	for {
		off := f.offset()
		if err := f.fill(12); err != nil {
			if err == io.EOF {
				return nil, decode.CaptureInfo{}, io.EOF
			}
			return nil, decode.CaptureInfo{}, f.ioError(off, "truncated block header", err)
		}
		h := f.buf[f.start : f.start+12]
		if binary.BigEndian.Uint32(h) == blockSHB {
			switch {
			case binary.LittleEndian.Uint32(h[8:]) == byteOrderBO:
				f.order = binary.LittleEndian
			case binary.BigEndian.Uint32(h[8:]) == byteOrderBO:
				f.order = binary.BigEndian
			default:
				return nil, decode.CaptureInfo{}, f.errorf(off, "bad section header byte-order magic")
			}
		} else if f.order == nil {
			return nil, decode.CaptureInfo{}, f.errorf(off, "pcapng block before the first section header")
		}
		typ := f.order.Uint32(h)
		blen := f.order.Uint32(h[4:])
		if blen < 12 || blen%4 != 0 || blen > maxBlock {
			return nil, decode.CaptureInfo{}, f.errorf(off, "invalid block length %d", blen)
		}
		if err := f.fill(int(blen)); err != nil {
			return nil, decode.CaptureInfo{}, f.ioError(off, "truncated block", err)
		}
		blk := f.buf[f.start : f.start+int(blen)]
		if f.order.Uint32(blk[blen-4:]) != blen {
			return nil, decode.CaptureInfo{}, f.errorf(off, "block length %d does not match its trailer", blen)
		}
		f.start += int(blen)
		body := blk[8 : blen-4]
		switch typ {
		case blockSHB:
			if len(body) < 16 {
				return nil, decode.CaptureInfo{}, f.errorf(off, "short section header")
			}
			if major := f.order.Uint16(body[4:]); major != 1 {
				return nil, decode.CaptureInfo{}, f.errorf(off, "unsupported pcapng section version %d.%d", major, f.order.Uint16(body[6:]))
			}
			f.ifaces = f.ifaces[:0]
		case blockIDB:
			if len(body) < 8 {
				return nil, decode.CaptureInfo{}, f.errorf(off, "short interface description block")
			}
			f.ifaces = append(f.ifaces, f.parseIDB(body))
		case blockEPB, blockOPB:
			var ifID, hi, lo, capLen, wireLen uint32
			if len(body) < 20 {
				return nil, decode.CaptureInfo{}, f.errorf(off, "short packet block")
			}
			if typ == blockEPB {
				ifID = f.order.Uint32(body)
			} else {
				ifID = uint32(f.order.Uint16(body))
			}
			hi, lo = f.order.Uint32(body[4:]), f.order.Uint32(body[8:])
			capLen, wireLen = f.order.Uint32(body[12:]), f.order.Uint32(body[16:])
			if int(ifID) >= len(f.ifaces) {
				return nil, decode.CaptureInfo{}, f.errorf(off, "packet block names interface %d, but only %d are described", ifID, len(f.ifaces))
			}
			if uint64(capLen) > uint64(len(body)-20) {
				return nil, decode.CaptureInfo{}, f.errorf(off, "packet block captured length %d exceeds the block", capLen)
			}
			ifc := &f.ifaces[ifID]
			ci := decode.CaptureInfo{
				TS:       ifc.time(uint64(hi)<<32 | uint64(lo)),
				CapLen:   int(capLen),
				WireLen:  int(max(wireLen, capLen)),
				LinkType: ifc.link,
				IfIndex:  int(ifID),
			}
			return body[20 : 20+capLen], ci, nil
		case blockSPB:
			f.Stats.SimplePackets++
		default:
			f.Stats.SkippedBlocks++
		}
	}
}

func (f *File) parseIDB(body []byte) iface {
	ifc := iface{link: f.order.Uint16(body), resDiv: 1e6}
	opts := body[8:]
	for len(opts) >= 4 {
		code, l := f.order.Uint16(opts), int(f.order.Uint16(opts[2:]))
		if code == 0 || 4+l > len(opts) {
			break
		}
		v := opts[4 : 4+l]
		switch {
		case code == 9 && l >= 1: // if_tsresol
			if v[0]&0x80 != 0 {
				ifc.pow2 = v[0] & 0x7f
				if ifc.pow2 > 63 {
					ifc.pow2 = 63
				}
			} else {
				ifc.resDiv = 1
				for i := 0; i < int(v[0]) && i < 19; i++ {
					ifc.resDiv *= 10
				}
			}
		case code == 14 && l >= 8: // if_tsoffset
			ifc.offsetS = int64(f.order.Uint64(v))
		}
		opts = opts[4+(l+3)&^3:]
	}
	return ifc
}

func (ifc *iface) time(t uint64) time.Time {
	var sec, ns uint64
	if ifc.pow2 != 0 {
		sec = t >> ifc.pow2
		frac := t & (1<<ifc.pow2 - 1)
		ns = uint64((float64(frac) / float64(uint64(1)<<ifc.pow2)) * 1e9)
	} else {
		sec = t / ifc.resDiv
		frac := t % ifc.resDiv
		switch {
		case ifc.resDiv <= 1e9:
			ns = frac * (1e9 / ifc.resDiv)
		default:
			ns = frac / (ifc.resDiv / 1e9)
		}
	}
	return time.Unix(int64(sec)+ifc.offsetS, int64(ns)).UTC()
}

// Open opens a capture file by name; "-" reads stdin.
func Open(path string, stdin io.Reader) (*File, error) {
	if path == "-" {
		return NewFile(io.NopCloser(stdin), "-")
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	f, err := NewFile(fh, path)
	if err != nil {
		fh.Close()
		return nil, err
	}
	return f, nil
}

// pollInterval bounds how long a read waits on a stalled stream before
// returning a timeout error, so the reading loop can serve signals.
const pollInterval = 250 * time.Millisecond

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return err != nil && errors.As(err, &te) && te.Timeout()
}

// prefetchChunk is the size of one read-ahead buffer; three are in flight.
const prefetchChunk = 1 << 20

// prefetcher reads its source on a goroutine, a chunk ahead of the reader.
// Read returns what a chunk holds as soon as it arrives, so a capture
// streamed through a pipe is not held back to fill a chunk.
type prefetcher struct {
	full    chan []byte
	free    chan []byte
	done    chan struct{}
	cur     []byte
	curBuf  []byte
	err     error
	errOnce chan error
}

func newPrefetcher(r io.Reader) *prefetcher {
	p := &prefetcher{
		full:    make(chan []byte, 2),
		free:    make(chan []byte, 3),
		done:    make(chan struct{}),
		errOnce: make(chan error, 1),
	}
	go func() {
		defer close(p.full)
		// Buffers are made on demand, the first one small, so a small
		// file costs little; at most three are in flight.
		made, size := 0, 64<<10
		for {
			var b []byte
			if made < 3 && len(p.free) == 0 {
				b, made = make([]byte, size), made+1
				size = prefetchChunk
			} else {
				select {
				case b = <-p.free:
				case <-p.done:
					return
				}
			}
			n, err := r.Read(b[:cap(b)])
			if n > 0 {
				select {
				case p.full <- b[:n]:
				case <-p.done:
					return
				}
			} else {
				p.free <- b // a buffer slot is free: cannot block
			}
			if err != nil {
				p.errOnce <- err
				return
			}
		}
	}()
	return p
}

func (p *prefetcher) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		if p.curBuf != nil {
			p.free <- p.curBuf[:cap(p.curBuf)]
			p.curBuf = nil
		}
		var c []byte
		var ok bool
		select {
		case c, ok = <-p.full:
		case <-p.done:
			// Stopped (SIGINT on a stream that cannot be closed, such
			// as stdin): end here.
			p.err = io.EOF
			continue
		default:
			// Nothing read ahead: wait a while, then let the caller look
			// up (a stalled pipe must not keep SIGUSR1 from being served).
			t := time.NewTimer(pollInterval)
			select {
			case c, ok = <-p.full:
				t.Stop()
			case <-p.done:
				t.Stop()
				p.err = io.EOF
				continue
			case <-t.C:
				return 0, errTimeout{}
			}
		}
		if !ok {
			select {
			case p.err = <-p.errOnce:
			default:
				p.err = io.ErrClosedPipe
			}
			continue
		}
		p.cur, p.curBuf = c, c
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// stop ends the goroutine; a Read blocked in the source ends when the
// source is closed.
func (p *prefetcher) stop() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
}
