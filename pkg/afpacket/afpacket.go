// Package afpacket captures from Linux interfaces through AF_PACKET sockets
// with TPACKET_V3 memory-mapped rings, the fast path beside libpcap: the
// kernel fills blocks of frames in memory shared with us, so a busy port
// costs one poll per block rather than a system call per packet. Several
// workers can share an interface through a PACKET_FANOUT group (hashed on
// the flow, both directions alike, fragments reassembled first, so each
// connection lands on one worker), several interfaces can be read at once,
// a tcpdump-syntax filter runs in the kernel, and the kernel's counters
// (received, dropped, queue freezes) are kept for --stats.
//
// Each worker's Source implements decode.Source, so frames go through the
// same decode path as a capture file. Frames are returned as they were on
// the wire: VLAN tags the kernel strips on receive are put back, and "any"
// or non-Ethernet interfaces get a Linux cooked v2 (SLL2) header. One
// difference remains with fanout: the kernel hands over reassembled IPv4
// datagrams instead of their fragments, so that they hash to one worker.
//
// Close makes the kernel stop adding frames; readers get what was already
// captured, then io.EOF, so a Ctrl-C loses nothing that reached the ring.
package afpacket

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nfr-project/nfr/pkg/decode"
)

// Fanout modes (PACKET_FANOUT_*) for spreading an interface over workers.
type Fanout int

const (
	FanoutHash Fanout = unix.PACKET_FANOUT_HASH // by flow, both directions alike (default)
	FanoutLB   Fanout = unix.PACKET_FANOUT_LB   // round robin
	FanoutCPU  Fanout = unix.PACKET_FANOUT_CPU  // by the CPU that received the frame
	FanoutQM   Fanout = unix.PACKET_FANOUT_QM   // by the NIC's receive queue
)

// ParseFanout maps a mode name (hash, lb, cpu, qm) to its Fanout.
func ParseFanout(s string) (Fanout, error) {
	switch s {
	case "hash", "":
		return FanoutHash, nil
	case "lb":
		return FanoutLB, nil
	case "cpu":
		return FanoutCPU, nil
	case "qm":
		return FanoutQM, nil
	}
	return 0, fmt.Errorf("unknown fanout mode %q (want hash, lb, cpu or qm)", s)
}

// Defaults for the zero values of Config.
const (
	DefaultSnaplen      = 262144
	DefaultRingSize     = 32 << 20
	DefaultBlockSize    = 1 << 20
	DefaultBlockTimeout = 10 * time.Millisecond
)

// Config says what to capture and how.
type Config struct {
	// Interfaces to read; "any" captures from every interface (frames
	// then carry a Linux cooked v2 header, LINKTYPE_SLL2).
	Interfaces []string
	// Workers is the number of Sources; above 1 each interface is shared
	// among them through a fanout group.
	Workers int
	Fanout  Fanout
	// RingSize is the memory of one ring in bytes; there is one ring per
	// worker and interface. It is rounded down to whole blocks.
	RingSize int
	// BlockSize is the unit the kernel hands over: a multiple of the page
	// size, larger than the biggest frame.
	BlockSize int
	// BlockTimeout hands over a block that is not full after this long, so
	// a quiet interface still delivers its frames promptly.
	BlockTimeout time.Duration
	// Snaplen cuts frames to this many bytes.
	Snaplen int
	// Promisc puts the interfaces in promiscuous mode for the life of the
	// sockets.
	Promisc bool
	// Filter is a tcpdump-syntax expression run in the kernel.
	Filter string
	// ReadTimeout, if set, makes ReadPacket return ErrTimeout after that
	// long without a frame, so the caller can advance its clock.
	ReadTimeout time.Duration
}

// ErrTimeout is returned by ReadPacket when Config.ReadTimeout passed
// without a frame. errors.Is(err, os.ErrDeadlineExceeded) holds for it.
var ErrTimeout = fmt.Errorf("afpacket: no frame within the read timeout: %w", os.ErrDeadlineExceeded)

func (c *Config) setDefaults() {
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Snaplen <= 0 {
		c.Snaplen = DefaultSnaplen
	}
	if c.RingSize <= 0 {
		c.RingSize = DefaultRingSize
	}
	if c.BlockSize <= 0 {
		c.BlockSize = DefaultBlockSize
	}
	if c.BlockTimeout <= 0 {
		c.BlockTimeout = DefaultBlockTimeout
	}
}

func (c *Config) validate() error {
	page := os.Getpagesize()
	switch {
	case len(c.Interfaces) == 0:
		return errors.New("no interface given")
	case c.BlockSize%page != 0:
		return fmt.Errorf("block size %d is not a multiple of the page size %d", c.BlockSize, page)
	case c.RingSize < 2*c.BlockSize:
		return fmt.Errorf("ring size %d holds fewer than two blocks of %d bytes", c.RingSize, c.BlockSize)
	case c.Workers > 65536: // PACKET_FANOUT_MAX
		return fmt.Errorf("%d workers is more than a fanout group takes", c.Workers)
	case c.Snaplen < 65536 && c.Snaplen+blkHeaderSize+2*sllEnd > c.BlockSize:
		// A small snaplen the user chose must fit; the default (take
		// everything) is cut by the kernel to what a block holds.
		return fmt.Errorf("snaplen %d does not fit a block of %d bytes", c.Snaplen, c.BlockSize)
	}
	return nil
}

// Stats are counters for the life of a capture.
type Stats struct {
	// Received counts the frames that passed the filter for our sockets,
	// including Dropped (the kernel's tp_packets; libpcap's ps_recv).
	Received uint64
	// Dropped counts frames lost because a ring was full (tp_drops).
	Dropped uint64
	// FreezeQueue counts the times a ring filled up (tp_freeze_q_cnt).
	FreezeQueue uint64
	// Delivered counts the frames ReadPacket returned.
	Delivered uint64
	// Corrupt counts ring blocks abandoned because a frame header in them
	// was out of bounds; expected to stay zero.
	Corrupt uint64
}

func (s *Stats) add(o Stats) {
	s.Received += o.Received
	s.Dropped += o.Dropped
	s.FreezeQueue += o.FreezeQueue
	s.Delivered += o.Delivered
	s.Corrupt += o.Corrupt
}

// InterfaceStats are the counters of one interface summed over workers.
type InterfaceStats struct {
	Interface string
	Stats
}

// Capture is a set of open rings: one per worker and interface.
type Capture struct {
	cfg     Config
	sources []*Source
	ifaces  []*iface
}

// iface is one interface as opened.
type iface struct {
	name      string
	index     int
	cooked    bool   // SOCK_DGRAM: frames get an SLL2 header
	linkType  uint16 // LINKTYPE_* of the frames ReadPacket returns
	fanoutID  int
	fanoutSet bool
}

// Open opens every interface for every worker. On error nothing stays open.
func Open(cfg Config) (*Capture, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Capture{cfg: cfg}
	for i := 0; i < cfg.Workers; i++ {
		s, err := newSource(i)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.sources = append(c.sources, s)
	}
	for ifi, name := range cfg.Interfaces {
		ifc := &iface{name: name}
		c.ifaces = append(c.ifaces, ifc)
		for _, s := range c.sources {
			sk, err := openSocket(&cfg, ifc, ifi)
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			s.add(sk)
		}
	}
	return c, nil
}

// Sources returns one decode.Source per worker; read each from its own
// goroutine.
func (c *Capture) Sources() []*Source { return c.sources }

// Interface returns the name of interface i, the CaptureInfo.IfIndex of
// its frames (for the events' source field).
func (c *Capture) Interface(i int) string { return c.ifaces[i].name }

// LinkType returns the LINKTYPE_* of the frames of interface i (the
// CaptureInfo.IfIndex of its frames).
func (c *Capture) LinkType(i int) uint16 { return c.ifaces[i].linkType }

// Stats returns the counters summed over every worker and interface. It may
// be called while workers read, and after Close for the final figures.
func (c *Capture) Stats() Stats {
	var st Stats
	for _, s := range c.sources {
		st.add(s.Stats())
	}
	return st
}

// InterfaceStats returns the counters of each interface, in the order of
// Config.Interfaces.
func (c *Capture) InterfaceStats() []InterfaceStats {
	out := make([]InterfaceStats, len(c.ifaces))
	for i, ifc := range c.ifaces {
		out[i].Interface = ifc.name
	}
	for _, s := range c.sources {
		s.mu.Lock()
		for _, sk := range s.socks {
			out[sk.ifi].add(sk.stats())
		}
		s.mu.Unlock()
	}
	return out
}

// Close closes every source; readers blocked in ReadPacket get io.EOF.
func (c *Capture) Close() error {
	for _, s := range c.sources {
		s.Close()
	}
	return nil
}

// Source is one worker's share of the capture: its ring on every interface.
// ReadPacket is for one goroutine; Close and Stats may be called from any.
type Source struct {
	worker int
	socks  []*socket
	pfds   []unix.PollFd
	wake   int // eventfd that Close writes to end a blocked poll
	cur    int // socket read last, for round robin over interfaces
	buf    []byte
	f      frame

	readTimeout int  // milliseconds, -1 for none
	drained     bool // after Close, waited once for the last block

	// state tells Close whether the rings may be unmapped at once: not
	// while a ReadPacket call runs or its frame is still in the caller's
	// hands; then the reader unmaps them on its next call.
	state atomic.Uint32
	mu    sync.Mutex // serialises unmapping with Stats and the wake-up
}

const (
	stInCall   = 1 << iota // ReadPacket is running
	stHolds                // the last ReadPacket returned a frame
	stClosing              // Close was called
	stReleased             // sockets closed, rings unmapped
)

var _ decode.Source = (*Source)(nil)

func newSource(worker int) (*Source, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	s := &Source{worker: worker, wake: fd, readTimeout: -1}
	s.pfds = []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	return s, nil
}

func (s *Source) add(sk *socket) {
	s.socks = append(s.socks, sk)
	s.pfds = append(s.pfds, unix.PollFd{Fd: int32(sk.fd), Events: unix.POLLIN | unix.POLLERR})
	if t := sk.cfg.ReadTimeout; t > 0 {
		s.readTimeout = int((t + time.Millisecond - 1) / time.Millisecond)
	}
}

// ReadPacket returns the next frame from any of the worker's interfaces;
// data is valid until the next call. It returns io.EOF once Close was
// called, and ErrTimeout when Config.ReadTimeout passed without a frame.
func (s *Source) ReadPacket() ([]byte, decode.CaptureInfo, error) {
	for {
		st := s.state.Load()
		if st&stReleased != 0 {
			return nil, decode.CaptureInfo{}, io.EOF
		}
		if s.state.CompareAndSwap(st, st&^stHolds|stInCall) {
			break
		}
	}
	data, ci, err := s.read()
	for {
		st := s.state.Load()
		next := st &^ stInCall
		if err == nil {
			next |= stHolds
		}
		if s.state.CompareAndSwap(st, next) {
			break
		}
	}
	return data, ci, err
}

func (s *Source) read() ([]byte, decode.CaptureInfo, error) {
	n := len(s.socks)
	if r := s.socks[s.cur].ring; n > 1 && r.held && r.left == 0 {
		// A block is done: give it back and let the next interface have a
		// turn, so one saturated link cannot starve the others.
		r.release()
		s.cur = (s.cur + 1) % n
	}
	for {
		closing := s.state.Load()&stClosing != 0
		for i := 0; i < n; i++ {
			sk := s.socks[s.cur]
			for sk.ring.next(&s.f) {
				if !s.f.loopedBack() {
					return s.deliver(sk)
				}
			}
			s.cur = (s.cur + 1) % n
		}
		if closing {
			// Drain: the kernel no longer adds frames (Close attached a
			// filter that takes none), and the block it was filling is
			// handed over within a block timeout.
			if s.drained {
				s.release()
				return nil, decode.CaptureInfo{}, io.EOF
			}
			s.drained = true
			ms := int(2 * s.socks[0].cfg.BlockTimeout / time.Millisecond)
			unix.Poll(s.pfds[1:], ms)
			continue
		}
		for i := range s.pfds {
			s.pfds[i].Revents = 0
		}
		got, err := unix.Poll(s.pfds, s.readTimeout)
		if err != nil && err != unix.EINTR {
			return nil, decode.CaptureInfo{}, fmt.Errorf("poll: %w", err)
		}
		if got == 0 && err == nil {
			return nil, decode.CaptureInfo{}, ErrTimeout
		}
		for i, p := range s.pfds[1:] {
			if p.Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
				if err := s.socks[i].pendingError(); err != nil {
					return nil, decode.CaptureInfo{}, err
				}
			}
		}
	}
}

func (s *Source) deliver(sk *socket) ([]byte, decode.CaptureInfo, error) {
	f := &s.f
	data := f.data
	wire := f.wireLen
	switch {
	case sk.ifc.cooked:
		s.buf = appendSLL2(s.buf[:0], f)
		data = s.buf
		wire += len(data) - len(f.data)
	case f.status&statusVLAN != 0:
		s.buf = appendEthernet(s.buf[:0], f)
		data = s.buf
		wire += 4
	}
	sk.delivered.Add(1)
	return data, decode.CaptureInfo{
		TS:       time.Unix(int64(f.sec), int64(f.nsec)).UTC(),
		CapLen:   len(data),
		WireLen:  wire,
		LinkType: sk.ifc.linkType,
		IfIndex:  sk.ifi,
	}, nil
}

// Close stops the source. The kernel stops adding frames at once; a reader
// gets the frames already captured, then io.EOF, as does every later call.
// The rings are unmapped at once when no frame is in a
// reader's hands, else by the reader's next call, so a frame being decoded
// when Ctrl-C arrives stays valid. (A reader that stops on its own after a
// frame and then calls Close leaves the rings mapped until it exits.)
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		st := s.state.Load()
		if st&stReleased != 0 {
			return nil
		}
		if st&(stInCall|stHolds) == 0 {
			if s.state.CompareAndSwap(st, st|stClosing|stReleased) {
				s.releaseLocked()
				return nil
			}
			continue
		}
		if s.state.CompareAndSwap(st, st|stClosing) {
			for _, sk := range s.socks {
				sk.stop()
			}
			var one [8]byte
			one[0] = 1
			unix.Write(s.wake, one[:])
			return nil
		}
	}
}

func (s *Source) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		st := s.state.Load()
		if st&stReleased != 0 && s.wake < 0 {
			return
		}
		if s.state.CompareAndSwap(st, st|stClosing|stReleased) {
			break
		}
	}
	s.releaseLocked()
}

func (s *Source) releaseLocked() {
	if s.wake < 0 {
		return
	}
	for _, sk := range s.socks {
		sk.close()
	}
	unix.Close(s.wake)
	s.wake = -1
}

// Stats returns this worker's counters.
func (s *Source) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st Stats
	for _, sk := range s.socks {
		st.add(sk.stats())
	}
	return st
}
