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

// maxPcapCapLen and maxBlock bound one pcap record and one pcapng block, so
// a corrupt length cannot make the reader allocate without limit: libpcap
// refuses captured lengths above 262144 for most link types, pcapng blocks
// may carry more. bufSize is the splitter's buffer.
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

func (s *FileStats) add(o FileStats) {
	s.SkippedBlocks += o.SkippedBlocks
	s.SimplePackets += o.SimplePackets
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

// File reads a pcap or pcapng stream. A goroutine of its own reads the
// stream (decompressing it if need be) into large buffers and splits it
// into frames ahead of the caller, which takes them in batches: ReadPacket
// costs the decoding goroutine an index, and the stream is copied once,
// from the kernel into the buffer the frames are returned from. A frame
// returned by ReadPacket stays valid until the next call.
type File struct {
	closer io.Closer
	sp     *splitter

	batches chan *batch // filled by the splitter, in stream order
	done    chan struct{}
	cur     *batch
	next    int   // index of the next record of cur
	err     error // the end of the stream (io.EOF) or its damage, once reached

	Stats FileStats
	// Poll makes ReadPacket return an error whose Timeout() is true when a
	// stream (a pipe) has stalled for a while, so the caller can serve
	// signals; the next call carries on. Off, ReadPacket just waits.
	Poll bool
}

// record is one frame of a batch; data points into the batch's buffer.
type record struct {
	data []byte
	ci   decode.CaptureInfo
}

// batch carries frames from the splitter to the reader. Once read, release
// (when set) is a buffer no frame still to come points into, given back
// for reuse.
type batch struct {
	recs    []record
	release []byte
	stats   FileStats
	err     error // after the records: io.EOF or a *FormatError
}

// Sizes of the splitter's work: buffers of bufSize bytes (poolSize of them
// at most in flight, a larger one only for a record that needs it) and
// batches of at most batchRecords frames.
const (
	poolSize     = 4
	batchRecords = 2048
)

// splitter is the state of the reading goroutine.
type splitter struct {
	name       string
	r          io.Reader
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
	stats  FileStats

	cur     *batch
	batches chan<- *batch
	done    <-chan struct{}
	pool    chan []byte // buffers the reader gave back
	free    chan *batch // batches the reader gave back
	made    int         // buffers of bufSize made so far
	exited  chan struct{}
}

// errStopped ends the splitter when the File is closed.
var errStopped = errors.New("capture file closed")

// NewFile reads a capture from r; name is used in errors. Gzip-compressed
// streams are recognised by their magic and decompressed.
func NewFile(r io.Reader, name string) (*File, error) {
	f := &File{batches: make(chan *batch, poolSize), done: make(chan struct{})}
	if c, ok := r.(io.Closer); ok {
		f.closer = c
	}
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
	sp := &splitter{
		name: name, r: src, batches: f.batches, done: f.done,
		pool: make(chan []byte, poolSize), free: make(chan *batch, poolSize+2),
		exited: make(chan struct{}),
	}
	sp.buf, sp.made = make([]byte, bufSize), 1
	if err := sp.readHeader(); err != nil {
		return nil, err
	}
	f.sp = sp
	go sp.run()
	return f, nil
}

// Name returns the name given to NewFile.
func (f *File) Name() string { return f.sp.name }

// Close closes the underlying reader when it is a Closer, and stops the
// splitter.
func (f *File) Close() error {
	var err error
	if f.closer != nil {
		err = f.closer.Close()
	}
	select {
	case <-f.done:
	default:
		close(f.done)
	}
	return err
}

// ReadPacket returns the next frame. At the end of the stream it returns
// io.EOF; on damage, a *FormatError naming the offset.
func (f *File) ReadPacket() ([]byte, decode.CaptureInfo, error) {
	for {
		if b := f.cur; b != nil {
			if f.next < len(b.recs) {
				r := &b.recs[f.next]
				f.next++
				return r.data, r.ci, nil
			}
			if b.err != nil {
				f.err = b.err
			}
			f.cur = nil
			f.sp.recycle(b)
		}
		if f.err != nil {
			return nil, decode.CaptureInfo{}, f.err
		}
		b, err := f.receive()
		if err != nil {
			return nil, decode.CaptureInfo{}, err
		}
		f.cur, f.next, f.Stats = b, 0, b.stats
	}
}

// receive waits for the next batch; with Poll, for pollInterval at most.
func (f *File) receive() (*batch, error) {
	var timeout <-chan time.Time // nil: wait as long as it takes
	if f.Poll {
		t := time.NewTimer(pollInterval)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case b, ok := <-f.batches:
		if ok {
			return b, nil
		}
	case <-f.done: // stopped (SIGINT on a stream that cannot be closed, such as stdin)
	case <-timeout:
		return nil, errTimeout{} // a stalled pipe: let the caller look up
	}
	f.err = io.EOF
	return nil, f.err
}

// recycle gives a read batch, and the buffer it releases, back to the
// splitter. Called by the reader.
func (sp *splitter) recycle(b *batch) {
	if b.release != nil && cap(b.release) == bufSize {
		sp.pool <- b.release[:bufSize] // never more than poolSize in flight: cannot block
	}
	b.recs, b.release, b.err = b.recs[:0], nil, nil
	select {
	case sp.free <- b:
	default:
	}
}

// run splits the stream into batches of frames until its end or damage,
// which the last batch carries, or until the File is closed.
func (sp *splitter) run() {
	defer close(sp.exited)
	defer close(sp.batches)
	for {
		data, ci, err := sp.readPacket()
		if err != nil {
			if err == errStopped {
				return
			}
			sp.batch().err = err
			sp.send()
			return
		}
		b := sp.batch()
		b.recs = append(b.recs, record{data, ci})
		if len(b.recs) == batchRecords {
			if sp.send() != nil {
				return
			}
		}
	}
}

// batch returns the batch being filled, taking one when there is none.
func (sp *splitter) batch() *batch {
	if sp.cur == nil {
		select {
		case sp.cur = <-sp.free:
		default:
			sp.cur = &batch{recs: make([]record, 0, 256)}
		}
	}
	return sp.cur
}

// send hands the batch being filled on, if there is one.
func (sp *splitter) send() error {
	b := sp.cur
	if b == nil {
		return nil
	}
	sp.cur = nil
	b.stats = sp.stats
	select {
	case sp.batches <- b:
		return nil
	case <-sp.done:
		return errStopped
	}
}

// buffer returns a buffer of at least n bytes: one given back by the
// reader, a new one while fewer than poolSize exist, or a larger one made
// for a record that needs it.
func (sp *splitter) buffer(n int) ([]byte, error) {
	if n > bufSize {
		return make([]byte, n), nil
	}
	select {
	case b := <-sp.pool:
		return b, nil
	default:
	}
	if sp.made < poolSize {
		sp.made++
		return make([]byte, bufSize), nil
	}
	select {
	case b := <-sp.pool:
		return b, nil
	case <-sp.done:
		return nil, errStopped
	}
}

func (sp *splitter) offset() int64 { return sp.base + int64(sp.start) }

func (sp *splitter) errorf(off int64, format string, args ...any) error {
	return &FormatError{Name: sp.name, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// fill makes at least n unread bytes available. It returns io.EOF when the
// stream ended cleanly before any of them, io.ErrUnexpectedEOF when it ended
// part-way. Frames already split point into the buffer, so its bytes are
// never moved: unread bytes go to the front of another buffer, and the old
// one goes back to the pool once the frames in it are read.
func (sp *splitter) fill(n int) error {
	if sp.end-sp.start >= n {
		return nil
	}
	if sp.start+n > len(sp.buf) {
		nb, err := sp.buffer(n)
		if err != nil {
			return err
		}
		copy(nb, sp.buf[sp.start:sp.end])
		sp.base += int64(sp.start)
		sp.end -= sp.start
		sp.start = 0
		sp.batch().release = sp.buf
		if err := sp.send(); err != nil {
			return err
		}
		sp.buf = nb
	}
	for sp.end-sp.start < n {
		if sp.eof {
			if sp.rerr != nil {
				return sp.rerr
			}
			if sp.end == sp.start {
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		}
		// The read may block (a pipe): hand on the frames split so far.
		if err := sp.send(); err != nil {
			return err
		}
		m, err := sp.r.Read(sp.buf[sp.end:])
		sp.end += m
		if err != nil {
			sp.eof = true
			if err != io.EOF {
				sp.rerr = err
			}
		}
	}
	return nil
}

func (sp *splitter) readHeader() error {
	err := sp.fill(24)
	if err != nil {
		if err == io.EOF {
			return sp.errorf(0, "empty file, not a capture")
		}
		if err == io.ErrUnexpectedEOF {
			if sp.end-sp.start >= 4 && isMagic(sp.buf[sp.start:sp.start+4]) {
				return sp.errorf(sp.offset(), "truncated file header")
			}
			return sp.errorf(0, "not a pcap or pcapng file")
		}
		return &FormatError{Name: sp.name, Msg: err.Error()}
	}
	h := sp.buf[sp.start : sp.start+24]
	switch {
	case bytes.Equal(h[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}):
		sp.format = formatPcapng
		return nil // the section header is read as a block
	case binary.LittleEndian.Uint32(h) == 0xa1b2c3d4:
		sp.order = binary.LittleEndian
	case binary.BigEndian.Uint32(h) == 0xa1b2c3d4:
		sp.order = binary.BigEndian
	case binary.LittleEndian.Uint32(h) == 0xa1b23c4d:
		sp.order, sp.nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(h) == 0xa1b23c4d:
		sp.order, sp.nano = binary.BigEndian, true
	default:
		return sp.errorf(0, "not a pcap or pcapng file (magic %x)", h[:4])
	}
	sp.format = formatPcap
	if major := sp.order.Uint16(h[4:]); major != 2 {
		return sp.errorf(4, "unsupported pcap version %d.%d", major, sp.order.Uint16(h[6:]))
	}
	sp.snaplen = sp.order.Uint32(h[16:])
	sp.link = uint16(sp.order.Uint32(h[20:]) & 0xffff)
	sp.start += 24
	return nil
}

func isMagic(b []byte) bool {
	switch binary.BigEndian.Uint32(b) {
	case 0x0a0d0d0a, 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		return true
	}
	return false
}

// readPacket splits off the next frame. At the end of the stream it
// returns io.EOF; on damage, a *FormatError naming the offset.
func (sp *splitter) readPacket() ([]byte, decode.CaptureInfo, error) {
	if sp.format == formatPcap {
		return sp.readPcap()
	}
	return sp.readPcapng()
}

func (sp *splitter) readPcap() ([]byte, decode.CaptureInfo, error) {
	var ci decode.CaptureInfo
	off := sp.offset()
	if err := sp.fill(16); err != nil {
		if err == io.EOF {
			return nil, ci, io.EOF
		}
		return nil, ci, sp.ioError(off, "truncated packet header", err)
	}
	h := sp.buf[sp.start : sp.start+16]
	sec := sp.order.Uint32(h)
	frac := sp.order.Uint32(h[4:])
	capLen := sp.order.Uint32(h[8:])
	wireLen := sp.order.Uint32(h[12:])
	limit := uint32(maxPcapCapLen)
	if sp.snaplen > limit && sp.snaplen <= maxBlock {
		limit = sp.snaplen
	}
	if capLen > limit {
		return nil, ci, sp.errorf(off, "invalid packet capture length %d, bigger than maximum of %d", capLen, limit)
	}
	if err := sp.fill(16 + int(capLen)); err != nil {
		return nil, ci, sp.ioError(off, "truncated packet record", err)
	}
	data := sp.buf[sp.start+16 : sp.start+16+int(capLen)]
	sp.start += 16 + int(capLen)
	ns := int64(frac)
	if !sp.nano {
		ns *= 1000
	}
	ci.TS = time.Unix(int64(sec), ns).UTC()
	ci.CapLen = int(capLen)
	ci.WireLen = int(max(wireLen, capLen))
	ci.LinkType = sp.link
	return data, ci, nil
}

func (sp *splitter) ioError(off int64, msg string, err error) error {
	if err == errStopped {
		return err
	}
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return sp.errorf(off, "%s", msg)
	}
	var fe *FormatError
	if errors.As(err, &fe) {
		return err
	}
	return sp.errorf(off, "%s: %v", msg, err)
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

func (sp *splitter) readPcapng() ([]byte, decode.CaptureInfo, error) {
	for {
		off := sp.offset()
		if err := sp.fill(12); err != nil {
			if err == io.EOF {
				return nil, decode.CaptureInfo{}, io.EOF
			}
			return nil, decode.CaptureInfo{}, sp.ioError(off, "truncated block header", err)
		}
		h := sp.buf[sp.start : sp.start+12]
		if binary.BigEndian.Uint32(h) == blockSHB {
			switch {
			case binary.LittleEndian.Uint32(h[8:]) == byteOrderBO:
				sp.order = binary.LittleEndian
			case binary.BigEndian.Uint32(h[8:]) == byteOrderBO:
				sp.order = binary.BigEndian
			default:
				return nil, decode.CaptureInfo{}, sp.errorf(off, "bad section header byte-order magic")
			}
		} else if sp.order == nil {
			return nil, decode.CaptureInfo{}, sp.errorf(off, "pcapng block before the first section header")
		}
		typ := sp.order.Uint32(h)
		blen := sp.order.Uint32(h[4:])
		if blen < 12 || blen%4 != 0 || blen > maxBlock {
			return nil, decode.CaptureInfo{}, sp.errorf(off, "invalid block length %d", blen)
		}
		if err := sp.fill(int(blen)); err != nil {
			return nil, decode.CaptureInfo{}, sp.ioError(off, "truncated block", err)
		}
		blk := sp.buf[sp.start : sp.start+int(blen)]
		if sp.order.Uint32(blk[blen-4:]) != blen {
			return nil, decode.CaptureInfo{}, sp.errorf(off, "block length %d does not match its trailer", blen)
		}
		sp.start += int(blen)
		body := blk[8 : blen-4]
		switch typ {
		case blockSHB:
			if len(body) < 16 {
				return nil, decode.CaptureInfo{}, sp.errorf(off, "short section header")
			}
			if major := sp.order.Uint16(body[4:]); major != 1 {
				return nil, decode.CaptureInfo{}, sp.errorf(off, "unsupported pcapng section version %d.%d", major, sp.order.Uint16(body[6:]))
			}
			sp.ifaces = sp.ifaces[:0]
		case blockIDB:
			if len(body) < 8 {
				return nil, decode.CaptureInfo{}, sp.errorf(off, "short interface description block")
			}
			sp.ifaces = append(sp.ifaces, sp.parseIDB(body))
		case blockEPB, blockOPB:
			var ifID, hi, lo, capLen, wireLen uint32
			if len(body) < 20 {
				return nil, decode.CaptureInfo{}, sp.errorf(off, "short packet block")
			}
			if typ == blockEPB {
				ifID = sp.order.Uint32(body)
			} else {
				ifID = uint32(sp.order.Uint16(body))
			}
			hi, lo = sp.order.Uint32(body[4:]), sp.order.Uint32(body[8:])
			capLen, wireLen = sp.order.Uint32(body[12:]), sp.order.Uint32(body[16:])
			if int(ifID) >= len(sp.ifaces) {
				return nil, decode.CaptureInfo{}, sp.errorf(off, "packet block names interface %d, but only %d are described", ifID, len(sp.ifaces))
			}
			if uint64(capLen) > uint64(len(body)-20) {
				return nil, decode.CaptureInfo{}, sp.errorf(off, "packet block captured length %d exceeds the block", capLen)
			}
			ifc := &sp.ifaces[ifID]
			ci := decode.CaptureInfo{
				TS:       ifc.time(uint64(hi)<<32 | uint64(lo)),
				CapLen:   int(capLen),
				WireLen:  int(max(wireLen, capLen)),
				LinkType: ifc.link,
				IfIndex:  int(ifID),
			}
			return body[20 : 20+capLen], ci, nil
		case blockSPB:
			sp.stats.SimplePackets++
		default:
			sp.stats.SkippedBlocks++
		}
	}
}

func (sp *splitter) parseIDB(body []byte) iface {
	ifc := iface{link: sp.order.Uint16(body), resDiv: 1e6}
	opts := body[8:]
	for len(opts) >= 4 {
		code, l := sp.order.Uint16(opts), int(sp.order.Uint16(opts[2:]))
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
			ifc.offsetS = int64(sp.order.Uint64(v))
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

// pollInterval bounds how long ReadPacket waits on a stalled stream before
// returning a timeout error, so the reading loop can serve signals.
const pollInterval = 250 * time.Millisecond
