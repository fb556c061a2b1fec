package afpacket

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/nfr-project/nfr/pkg/decode"
)

// socket is one AF_PACKET socket with its mapped ring: one worker's view of
// one interface.
type socket struct {
	fd   int
	mem  []byte
	ring *ring
	cfg  *Config
	ifc  *iface
	ifi  int // index of the interface in Config.Interfaces

	delivered atomic.Uint64
	// The kernel resets its counters on every read; these hold the sums.
	received, dropped, freezes uint64
	closed                     bool
}

// ARPHRD_* types whose frames start with an Ethernet header; everything
// else is read cooked (from the network header) and given an SLL2 header.
var ethernetLike = map[uint16]bool{
	unix.ARPHRD_ETHER:    true,
	unix.ARPHRD_LOOPBACK: true,
	unix.ARPHRD_IEEE802:  true,
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openSocket opens, configures and binds one socket on ifc. The order
// follows libpcap: the socket starts with protocol 0 so nothing is queued
// before the filter and the ring are in place, and only bind starts the flow.
func openSocket(cfg *Config, ifc *iface, ifi int) (_ *socket, err error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("AF_PACKET socket: %w", err)
	}
	sk := &socket{fd: fd, cfg: cfg, ifc: ifc, ifi: ifi}
	defer func() {
		if err != nil {
			sk.close()
		}
	}()
	if ifc.linkType == 0 {
		if err := ifc.lookup(fd); err != nil {
			return nil, err
		}
	}
	if ifc.cooked {
		// A socket's type is fixed at creation: start again as SOCK_DGRAM.
		unix.Close(fd)
		sk.fd = -1
		if fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return nil, fmt.Errorf("AF_PACKET socket: %w", err)
		}
		sk.fd = fd
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, fmt.Errorf("TPACKET_V3: %w", err)
	}
	if err := attachFilter(fd, cfg, ifc); err != nil {
		return nil, err
	}
	nblocks := cfg.RingSize / cfg.BlockSize
	const frameSize = 1 << 11 // only checked against the block size in V3
	req := unix.TpacketReq3{
		Block_size:     uint32(cfg.BlockSize),
		Block_nr:       uint32(nblocks),
		Frame_size:     frameSize,
		Frame_nr:       uint32(cfg.BlockSize / frameSize * nblocks),
		Retire_blk_tov: uint32(cfg.BlockTimeout.Milliseconds()),
	}
	if req.Retire_blk_tov == 0 {
		req.Retire_blk_tov = 1
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("PACKET_RX_RING of %d blocks of %d bytes: %w", nblocks, cfg.BlockSize, err)
	}
	mem, err := unix.Mmap(fd, 0, nblocks*cfg.BlockSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_LOCKED|unix.MAP_POPULATE)
	if err != nil {
		// MAP_LOCKED fails under a low RLIMIT_MEMLOCK; the ring works
		// without it.
		mem, err = unix.Mmap(fd, 0, nblocks*cfg.BlockSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return nil, fmt.Errorf("mmap ring: %w", err)
		}
	}
	sk.mem = mem
	sk.ring = newRing(mem, cfg.BlockSize, nblocks)
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.index}
	if err := unix.Bind(fd, sa); err != nil {
		return nil, fmt.Errorf("bind: %w", err)
	}
	if cfg.Promisc && ifc.index != 0 {
		mreq := unix.PacketMreq{Ifindex: int32(ifc.index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return nil, fmt.Errorf("promiscuous mode: %w", err)
		}
	}
	if cfg.Workers > 1 {
		if err := sk.joinFanout(); err != nil {
			return nil, err
		}
	}
	return sk, nil
}

// joinFanout puts the socket in its interface's fanout group. The first
// socket asks the kernel for an unused group id, so we never join another
// program's group by accident.
func (sk *socket) joinFanout() error {
	mode := int(sk.cfg.Fanout) | unix.PACKET_FANOUT_FLAG_DEFRAG
	if !sk.ifc.fanoutSet {
		arg := (mode | unix.PACKET_FANOUT_FLAG_UNIQUEID) << 16
		if err := unix.SetsockoptInt(sk.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, arg); err != nil {
			return fmt.Errorf("fanout: %w", err)
		}
		v, err := unix.GetsockoptInt(sk.fd, unix.SOL_PACKET, unix.PACKET_FANOUT)
		if err != nil {
			return fmt.Errorf("fanout id: %w", err)
		}
		sk.ifc.fanoutID = v & 0xffff
		sk.ifc.fanoutSet = true
		return nil
	}
	arg := sk.ifc.fanoutID | mode<<16
	if err := unix.SetsockoptInt(sk.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, arg); err != nil {
		return fmt.Errorf("fanout group %d: %w", sk.ifc.fanoutID, err)
	}
	return nil
}

// lookup finds the interface's index and link type through the socket, so
// it is resolved in the socket's network namespace.
func (ifc *iface) lookup(fd int) error {
	if ifc.name == "any" {
		ifc.index = 0
		ifc.cooked = true
		ifc.linkType = decode.LinkSLL2
		return nil
	}
	ifr, err := unix.NewIfreq(ifc.name)
	if err != nil {
		return fmt.Errorf("bad interface name: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return fmt.Errorf("no such interface: %w", err)
	}
	ifc.index = int(int32(ifr.Uint32()))
	ifr, _ = unix.NewIfreq(ifc.name)
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return fmt.Errorf("link type: %w", err)
	}
	if ethernetLike[ifr.Uint16()] {
		ifc.linkType = decode.LinkEthernet
	} else {
		ifc.cooked = true
		ifc.linkType = decode.LinkSLL2
	}
	return nil
}

// pendingError returns the socket's pending error (SO_ERROR), e.g. ENETDOWN
// when the interface went away.
func (sk *socket) pendingError() error {
	v, err := unix.GetsockoptInt(sk.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return fmt.Errorf("%s: %w", sk.ifc.name, err)
	}
	if v != 0 {
		return fmt.Errorf("%s: %w", sk.ifc.name, unix.Errno(v))
	}
	return nil
}

// collect adds the kernel's counters since the last call to the sums.
func (sk *socket) collect() {
	if sk.closed || sk.fd < 0 {
		return
	}
	ks, err := unix.GetsockoptTpacketStatsV3(sk.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return
	}
	sk.received += uint64(ks.Packets)
	sk.dropped += uint64(ks.Drops)
	sk.freezes += uint64(ks.Freeze_q_cnt)
}

// stats returns the socket's counters; the caller holds its Source's mu.
func (sk *socket) stats() Stats {
	sk.collect()
	st := Stats{
		Received:    sk.received,
		Dropped:     sk.dropped,
		FreezeQueue: sk.freezes,
		Delivered:   sk.delivered.Load(),
	}
	if sk.ring != nil {
		st.Corrupt = sk.ring.corrupt.Load()
	}
	return st
}

// stop makes the kernel pass no more frames to the socket, so a reader can
// drain the ring and finish.
func (sk *socket) stop() {
	if sk.closed || sk.fd < 0 {
		return
	}
	attachProgram(sk.fd, []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}})
}

func (sk *socket) close() {
	if sk.closed {
		return
	}
	sk.collect()
	sk.closed = true
	if sk.mem != nil {
		unix.Munmap(sk.mem)
		sk.mem = nil
	}
	if sk.fd >= 0 {
		unix.Close(sk.fd)
	}
}

// attachProgram attaches a classic BPF program to the socket.
func attachProgram(fd int, prog []unix.SockFilter) error {
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp)
}
