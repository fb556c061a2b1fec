package afpacket

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Layout of a TPACKET_V3 ring (linux/if_packet.h). The ring is a row of
// blocks; each starts with a struct tpacket_block_desc whose tpacket_hdr_v1
// says who owns the block (block_status), how many frames it holds and where
// the first one starts. Frames are struct tpacket3_hdr followed by a
// struct sockaddr_ll and the captured bytes at tp_mac, chained by
// tp_next_offset. Offsets below are from those structs; the kernel writes
// them in host byte order.
const (
	blkStatus     = 8  // tpacket_hdr_v1.block_status
	blkNumPkts    = 12 // tpacket_hdr_v1.num_pkts
	blkFirstPkt   = 16 // tpacket_hdr_v1.offset_to_first_pkt
	blkHeaderSize = 48 // tpacket_block_desc, 8-byte aligned

	pktNext     = 0  // tp_next_offset
	pktSec      = 4  // tp_sec
	pktNsec     = 8  // tp_nsec
	pktSnaplen  = 12 // tp_snaplen
	pktLen      = 16 // tp_len
	pktStatus   = 20 // tp_status
	pktMac      = 24 // tp_mac
	pktVlanTCI  = 32 // hv1.tp_vlan_tci
	pktVlanTPID = 36 // hv1.tp_vlan_tpid
	pktHdrSize  = 48 // TPACKET_ALIGN(sizeof(struct tpacket3_hdr))

	// struct sockaddr_ll right after the frame header.
	sllProtocol = pktHdrSize + 2  // sll_protocol, network byte order
	sllIfindex  = pktHdrSize + 4  // sll_ifindex
	sllHatype   = pktHdrSize + 8  // sll_hatype
	sllPkttype  = pktHdrSize + 10 // sll_pkttype
	sllHalen    = pktHdrSize + 11 // sll_halen
	sllAddr     = pktHdrSize + 12 // sll_addr[8]
	sllEnd      = pktHdrSize + 20

	statusKernel    = 0
	statusUser      = 1 << 0 // TP_STATUS_USER
	statusVLAN      = 1 << 4 // TP_STATUS_VLAN_VALID
	statusVLANTPID  = 1 << 6 // TP_STATUS_VLAN_TPID_VALID
	statusTruncated = 1 << 2 // TP_STATUS_COPY: did not fit a block, cut short
)

// frame is one captured frame as the ring describes it. data points into
// the ring and is valid while its block is held.
type frame struct {
	data     []byte
	hdr      []byte // tpacket3_hdr and sockaddr_ll, for the cooked header
	sec      uint32
	nsec     uint32
	wireLen  int
	status   uint32
	vlanTCI  uint16
	vlanTPID uint16
}

// ring walks the blocks of one mapped TPACKET_V3 ring. It holds at most one
// block at a time and gives it back to the kernel before taking the next,
// so frames of the held block stay valid until the following call to next.
type ring struct {
	mem       []byte
	blockSize int
	nblocks   int

	cur  int  // block being read or waited for
	held bool // cur belongs to us
	left int  // frames not yet returned from the held block
	off  int  // offset of the next frame within the held block

	corrupt atomic.Uint64 // blocks given back early because a header made no sense
}

func newRing(mem []byte, blockSize, nblocks int) *ring {
	return &ring{mem: mem, blockSize: blockSize, nblocks: nblocks}
}

func (r *ring) status(b int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[b*r.blockSize+blkStatus]))
}

// release hands the held block back to the kernel and moves to the next.
func (r *ring) release() {
	if !r.held {
		return
	}
	atomic.StoreUint32(r.status(r.cur), statusKernel)
	r.held = false
	r.cur++
	if r.cur == r.nblocks {
		r.cur = 0
	}
}

// next returns the next frame, or false when the kernel has not handed over
// the next block yet (then poll the socket and call again).
func (r *ring) next(f *frame) bool {
	for {
		if r.held && r.left == 0 {
			r.release()
		}
		if !r.held {
			if atomic.LoadUint32(r.status(r.cur))&statusUser == 0 {
				return false
			}
			blk := r.block()
			r.held = true
			r.left = int(binary.NativeEndian.Uint32(blk[blkNumPkts:]))
			r.off = int(binary.NativeEndian.Uint32(blk[blkFirstPkt:]))
			continue
		}
		if r.parse(f) {
			return true
		}
		// A frame header pointing outside its block: the kernel never
		// writes one, but a bad offset must cost one block, not a crash.
		r.corrupt.Add(1)
		r.left = 0
	}
}

func (r *ring) block() []byte {
	base := r.cur * r.blockSize
	return r.mem[base : base+r.blockSize : base+r.blockSize]
}

// parse decodes the frame at r.off of the held block into f and advances.
func (r *ring) parse(f *frame) bool {
	blk := r.block()
	off := r.off
	if off < blkHeaderSize || off > len(blk)-sllEnd {
		return false
	}
	h := blk[off:]
	next := int(binary.NativeEndian.Uint32(h[pktNext:]))
	mac := int(binary.NativeEndian.Uint16(h[pktMac:]))
	snap := int(binary.NativeEndian.Uint32(h[pktSnaplen:]))
	if mac < sllEnd || snap > len(h)-mac {
		return false
	}
	f.data = h[mac : mac+snap : mac+snap]
	f.hdr = h[:sllEnd:sllEnd]
	f.sec = binary.NativeEndian.Uint32(h[pktSec:])
	f.nsec = binary.NativeEndian.Uint32(h[pktNsec:])
	f.wireLen = int(binary.NativeEndian.Uint32(h[pktLen:]))
	f.status = binary.NativeEndian.Uint32(h[pktStatus:])
	f.vlanTCI = uint16(binary.NativeEndian.Uint32(h[pktVlanTCI:]))
	f.vlanTPID = binary.NativeEndian.Uint16(h[pktVlanTPID:])
	r.left--
	if r.left > 0 {
		if next <= 0 {
			r.left = 0 // the chain ends early; count nothing more from it
		}
		r.off += next
	}
	return true
}

// appendEthernet appends f's frame to dst with the 802.1Q or 802.1ad tag
// the kernel took off put back where it was, as libpcap does, so the bytes
// equal those on the wire.
func appendEthernet(dst []byte, f *frame) []byte {
	d := f.data
	if len(d) < 12 {
		return append(dst, d...)
	}
	tpid := uint16(0x8100)
	if f.status&statusVLANTPID != 0 && f.vlanTPID != 0 {
		tpid = f.vlanTPID
	}
	dst = append(dst, d[:12]...)
	dst = binary.BigEndian.AppendUint16(dst, tpid)
	dst = binary.BigEndian.AppendUint16(dst, f.vlanTCI)
	return append(dst, d[12:]...)
}

// appendSLL2 appends f (captured from a SOCK_DGRAM socket, so starting at
// the network header) to dst behind a Linux cooked v2 header (LINKTYPE_SLL2)
// built from its sockaddr_ll, with a VLAN tag the kernel removed put back.
func appendSLL2(dst []byte, f *frame) []byte {
	h := f.hdr
	proto := h[sllProtocol : sllProtocol+2]
	vlan := f.status&statusVLAN != 0
	if vlan {
		tpid := uint16(0x8100)
		if f.status&statusVLANTPID != 0 && f.vlanTPID != 0 {
			tpid = f.vlanTPID
		}
		dst = binary.BigEndian.AppendUint16(dst, tpid)
	} else {
		dst = append(dst, proto...)
	}
	dst = append(dst, 0, 0) // reserved
	dst = binary.BigEndian.AppendUint32(dst, binary.NativeEndian.Uint32(h[sllIfindex:]))
	dst = binary.BigEndian.AppendUint16(dst, binary.NativeEndian.Uint16(h[sllHatype:]))
	dst = append(dst, h[sllPkttype])
	halen := h[sllHalen]
	if halen > 8 {
		halen = 8
	}
	dst = append(dst, halen)
	var addr [8]byte
	copy(addr[:], h[sllAddr:sllAddr+int(halen)])
	dst = append(dst, addr[:]...)
	if vlan {
		dst = binary.BigEndian.AppendUint16(dst, f.vlanTCI)
		dst = append(dst, proto...)
	}
	return append(dst, f.data...)
}

// loopbackIndex is the ifindex of the loopback interface (0 if none).
var loopbackIndex = sync.OnceValue(func() int32 {
	ifs, err := net.Interfaces()
	if err != nil {
		return 0
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 {
			return int32(ifc.Index)
		}
	}
	return 0
})

// loopedBack reports whether f is the outgoing copy of a frame on the
// loopback interface. The kernel shows every loopback frame twice, going
// out and coming in; libpcap keeps only the incoming one, and so do we.
func (f *frame) loopedBack() bool {
	const packetOutgoing = 4
	if f.hdr[sllPkttype] != packetOutgoing {
		return false
	}
	ifindex := int32(binary.NativeEndian.Uint32(f.hdr[sllIfindex:]))
	return ifindex != 0 && ifindex == loopbackIndex()
}
