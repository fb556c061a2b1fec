package afpacket

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/nfr-project/nfr/pkg/decode"
)

// testFrame is a frame as the kernel would describe it in a ring.
type testFrame struct {
	data     []byte
	wire     int // 0: len(data)
	status   uint32
	tci      uint16
	tpid     uint16
	sec      uint32
	nsec     uint32
	sll      []byte // sockaddr_ll after the header; nil for a zero one
	badMac   bool   // tp_mac pointing past the block
	badNext  bool   // tp_next_offset pointing past the block
	macExtra int
}

// macOff is where the kernel puts an Ethernet frame: TPACKET_ALIGN of the
// header plus sockaddr_ll, so that the network header is 16-byte aligned.
const macOff = 96 - 14

// fillBlock lays frames out in block b of r as the kernel does and hands
// the block to user space.
func fillBlock(r *ring, b int, frames []testFrame) {
	blk := r.mem[b*r.blockSize : (b+1)*r.blockSize]
	clear(blk[:blkHeaderSize])
	off := blkHeaderSize
	binary.NativeEndian.PutUint32(blk[blkNumPkts:], uint32(len(frames)))
	binary.NativeEndian.PutUint32(blk[blkFirstPkt:], uint32(off))
	for i, f := range frames {
		h := blk[off:]
		clear(h[:macOff])
		mac := macOff + f.macExtra
		size := (mac + len(f.data) + 15) &^ 15
		next := size
		if i == len(frames)-1 {
			next = 0
		}
		if f.badNext {
			next = r.blockSize
		}
		wire := f.wire
		if wire == 0 {
			wire = len(f.data)
		}
		binary.NativeEndian.PutUint32(h[pktNext:], uint32(next))
		binary.NativeEndian.PutUint32(h[pktSec:], f.sec)
		binary.NativeEndian.PutUint32(h[pktNsec:], f.nsec)
		binary.NativeEndian.PutUint32(h[pktSnaplen:], uint32(len(f.data)))
		binary.NativeEndian.PutUint32(h[pktLen:], uint32(wire))
		binary.NativeEndian.PutUint32(h[pktStatus:], f.status|statusUser)
		if f.badMac {
			mac = r.blockSize
		}
		binary.NativeEndian.PutUint16(h[pktMac:], uint16(mac))
		binary.NativeEndian.PutUint32(h[pktVlanTCI:], uint32(f.tci))
		binary.NativeEndian.PutUint16(h[pktVlanTPID:], f.tpid)
		copy(h[pktHdrSize:], f.sll)
		if !f.badMac {
			copy(h[mac:], f.data)
		}
		off += size
	}
	binary.NativeEndian.PutUint32(blk[blkStatus:], statusUser)
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// A DNS query as tcpdump shows it:
// 09:19:54.740079 IP 192.168.1.11.43966 > 209.87.249.18.53: 22836+ [1au] A? www.example.com. (44)
var dnsQuery = mustHex("001122334466001122334455080045000048000040004011c1a1c0a8010bd157f912abbe0035003400002f348120000100000000000103777777076578616d706c6503636f6d00000100010000290ffa000000000000")

func TestRingFrames(t *testing.T) {
	tests := []struct {
		name   string
		in     testFrame
		cooked bool
		want   []byte
		wire   int
	}{
		{
			name: "ethernet as captured",
			in:   testFrame{data: dnsQuery, sec: 1700000000, nsec: 123456789},
			want: dnsQuery,
			wire: len(dnsQuery),
		},
		{
			name: "snaplen cut",
			in:   testFrame{data: dnsQuery[:60], wire: len(dnsQuery)},
			want: dnsQuery[:60],
			wire: len(dnsQuery),
		},
		{
			name: "802.1Q tag put back",
			in:   testFrame{data: dnsQuery, status: statusVLAN | statusVLANTPID, tci: 0x2064, tpid: 0x8100},
			want: append(append(bytes.Clone(dnsQuery[:12]), 0x81, 0x00, 0x20, 0x64), dnsQuery[12:]...),
			wire: len(dnsQuery) + 4,
		},
		{
			name: "802.1ad outer tag put back with its TPID",
			in:   testFrame{data: dnsQuery, status: statusVLAN | statusVLANTPID, tci: 200, tpid: 0x88a8},
			want: append(append(bytes.Clone(dnsQuery[:12]), 0x88, 0xa8, 0x00, 0xc8), dnsQuery[12:]...),
			wire: len(dnsQuery) + 4,
		},
		{
			name: "old kernel without TPID: 802.1Q assumed",
			in:   testFrame{data: dnsQuery, status: statusVLAN, tci: 5},
			want: append(append(bytes.Clone(dnsQuery[:12]), 0x81, 0x00, 0x00, 0x05), dnsQuery[12:]...),
			wire: len(dnsQuery) + 4,
		},
		{
			name:   "cooked: SLL2 header from sockaddr_ll",
			in:     testFrame{data: dnsQuery[14:], sll: sockaddrLL(0x0800, 7, 1, 4, dnsQuery[6:12])},
			cooked: true,
			want:   append(mustHex("08000000"+"00000007"+"0001"+"04"+"06"+"0011223344550000"), dnsQuery[14:]...),
			wire:   len(dnsQuery) - 14 + 20,
		},
		{
			name:   "cooked with a VLAN tag",
			in:     testFrame{data: dnsQuery[14:], status: statusVLAN | statusVLANTPID, tci: 10, tpid: 0x8100, sll: sockaddrLL(0x0800, 3, 1, 0, dnsQuery[6:12])},
			cooked: true,
			want:   append(mustHex("81000000"+"00000003"+"0001"+"00"+"06"+"0011223344550000"+"000a0800"), dnsQuery[14:]...),
			wire:   len(dnsQuery) - 14 + 24,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, sk := testSource(1<<16, 2, tc.cooked)
			fillBlock(sk.ring, 0, []testFrame{tc.in})
			if !sk.ring.next(&s.f) {
				t.Fatal("no frame in a filled block")
			}
			data, ci, err := s.deliver(sk)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, tc.want) {
				t.Errorf("data\n got %x\nwant %x", data, tc.want)
			}
			if ci.CapLen != len(tc.want) || ci.WireLen != tc.wire {
				t.Errorf("caplen %d wirelen %d, want %d %d", ci.CapLen, ci.WireLen, len(tc.want), tc.wire)
			}
			if ts := ci.TS; ts.Unix() != int64(tc.in.sec) || ts.Nanosecond() != int(tc.in.nsec) || ts.Location().String() != "UTC" {
				t.Errorf("ts %v, want %d.%09d UTC", ts, tc.in.sec, tc.in.nsec)
			}
			if sk.ring.next(&s.f) {
				t.Error("a second frame from a block of one")
			}
		})
	}
}

func sockaddrLL(proto uint16, ifindex int32, hatype uint16, pkttype byte, addr []byte) []byte {
	b := make([]byte, 20)
	binary.NativeEndian.PutUint16(b[0:], 17) // AF_PACKET
	binary.BigEndian.PutUint16(b[2:], proto)
	binary.NativeEndian.PutUint32(b[4:], uint32(ifindex))
	binary.NativeEndian.PutUint16(b[8:], hatype)
	b[10] = pkttype
	b[11] = byte(len(addr))
	copy(b[12:], addr)
	return b
}

func testSource(blockSize, nblocks int, cooked bool) (*Source, *socket) {
	lt := uint16(decode.LinkEthernet)
	if cooked {
		lt = decode.LinkSLL2
	}
	sk := &socket{
		fd:   -1,
		ring: newRing(make([]byte, blockSize*nblocks), blockSize, nblocks),
		ifc:  &iface{name: "test0", linkType: lt, cooked: cooked},
		ifi:  0,
	}
	return &Source{socks: []*socket{sk}, wake: -1}, sk
}

// TestRingBlocks walks several blocks round the ring and checks that each
// block goes back to the kernel only once its frames are done with.
func TestRingBlocks(t *testing.T) {
	const nblocks = 3
	s, sk := testSource(4096, nblocks, false)
	r := sk.ring
	n := 0
	for round := 0; round < 2; round++ {
		for b := 0; b < nblocks; b++ {
			var fs []testFrame
			for i := 0; i <= b; i++ {
				d := bytes.Clone(dnsQuery)
				d[len(d)-1] = byte(n + i)
				fs = append(fs, testFrame{data: d})
			}
			fillBlock(r, b, fs)
			for i := range fs {
				if !r.next(&s.f) {
					t.Fatalf("round %d block %d: frame %d missing", round, b, i)
				}
				if got := s.f.data[len(s.f.data)-1]; got != byte(n) {
					t.Fatalf("frame %d out of order (got tag %d)", n, got)
				}
				if st := binary.NativeEndian.Uint32(r.mem[b*r.blockSize+blkStatus:]); st != statusUser {
					t.Fatalf("block %d given back while its frame %d is held", b, i)
				}
				n++
			}
			if r.next(&s.f) {
				t.Fatal("frame from a block the kernel has not filled")
			}
			if st := binary.NativeEndian.Uint32(r.mem[b*r.blockSize+blkStatus:]); st != statusKernel {
				t.Fatalf("block %d not given back when done", b)
			}
		}
	}
}

// TestRingCorrupt checks that a frame header pointing outside its block
// costs that block, counted, and nothing else.
func TestRingCorrupt(t *testing.T) {
	tests := []struct {
		name   string
		frames []testFrame
		good   int
	}{
		{"mac past the block", []testFrame{{data: dnsQuery, badMac: true}, {data: dnsQuery}}, 0},
		{"next past the block", []testFrame{{data: dnsQuery, badNext: true}, {data: dnsQuery}}, 1},
		{"fine", []testFrame{{data: dnsQuery}, {data: dnsQuery}}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, sk := testSource(4096, 2, false)
			fillBlock(sk.ring, 0, tc.frames)
			fillBlock(sk.ring, 1, []testFrame{{data: dnsQuery}})
			got := 0
			for sk.ring.next(&s.f) {
				got++
			}
			if got != tc.good+1 {
				t.Errorf("got %d frames, want %d and the next block's one", got, tc.good)
			}
			if c := sk.ring.corrupt.Load(); (c != 0) != (tc.good < len(tc.frames)) {
				t.Errorf("corrupt count %d", c)
			}
		})
	}
}

// FuzzRing feeds arbitrary block contents to the ring walker: whatever the
// headers say, it must neither panic nor return bytes outside the block.
func FuzzRing(f *testing.F) {
	r := newRing(make([]byte, 8192), 8192, 1)
	fillBlock(r, 0, []testFrame{{data: dnsQuery}, {data: dnsQuery, status: statusVLAN, tci: 7}})
	f.Add(bytes.Clone(r.mem[:1024]))
	fillBlock(r, 0, []testFrame{{data: dnsQuery, badNext: true}, {data: dnsQuery}})
	f.Add(bytes.Clone(r.mem[:1024]))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, blk []byte) {
		s, sk := testSource(4096, 1, len(blk)%2 == 1)
		copy(sk.ring.mem, blk)
		binary.NativeEndian.PutUint32(sk.ring.mem[blkStatus:], statusUser)
		for i := 0; i < 4096 && sk.ring.next(&s.f); i++ {
			if _, _, err := s.deliver(sk); err != nil {
				t.Fatal(err)
			}
			if sk.ring.cur != 0 {
				break
			}
		}
	})
}

// BenchmarkRingRead measures the per-frame cost of the ring read path
// (block walk, header parse, CaptureInfo) on small DNS frames, refilling
// blocks as the kernel would.
func BenchmarkRingRead(b *testing.B) {
	for _, tc := range []struct {
		name   string
		status uint32
	}{{"plain", 0}, {"vlan", statusVLAN | statusVLANTPID}} {
		b.Run(tc.name, func(b *testing.B) {
			const blockSize, nblocks = 1 << 20, 8
			s, sk := testSource(blockSize, nblocks, false)
			r := sk.ring
			per := (blockSize - blkHeaderSize) / ((macOff + len(dnsQuery) + 15) &^ 15)
			frames := make([]testFrame, per)
			for i := range frames {
				frames[i] = testFrame{data: dnsQuery, status: tc.status, tci: 1, tpid: 0x8100}
			}
			for blk := 0; blk < nblocks; blk++ {
				fillBlock(r, blk, frames)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(dnsQuery)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !r.next(&s.f) {
					// The kernel's part: hand the blocks back filled.
					for blk := 0; blk < nblocks; blk++ {
						binary.NativeEndian.PutUint32(r.mem[blk*blockSize+blkStatus:], statusUser)
					}
					r.next(&s.f)
				}
				if _, _, err := s.deliver(sk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadPacket measures Source.ReadPacket as a decoder calls it:
// ownership bookkeeping, ring walk and CaptureInfo, on small DNS frames;
// blocks the reader gave back are refilled at once, as a busy link would.
func BenchmarkReadPacket(b *testing.B) {
	const blockSize, nblocks = 1 << 20, 8
	s, sk := testSource(blockSize, nblocks, false)
	r := sk.ring
	per := (blockSize - blkHeaderSize) / ((macOff + len(dnsQuery) + 15) &^ 15)
	frames := make([]testFrame, per)
	for i := range frames {
		frames[i] = testFrame{data: dnsQuery, sec: 1700000000}
	}
	for blk := 0; blk < nblocks; blk++ {
		fillBlock(r, blk, frames)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(dnsQuery)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data, _, err := s.ReadPacket()
		if err != nil || len(data) != len(dnsQuery) {
			b.Fatal(err)
		}
		prev := (r.cur + nblocks - 1) % nblocks
		if st := r.status(prev); *st == statusKernel {
			*st = statusUser
		}
	}
}

// TestInterfacesTakeTurns checks that a worker reading several interfaces
// moves on after each block, so a saturated one cannot starve the others.
func TestInterfacesTakeTurns(t *testing.T) {
	s, _ := testSource(4096, 2, false)
	_, b := testSource(4096, 2, false)
	b.ifi = 1
	s.socks = append(s.socks, b)
	for _, sk := range s.socks {
		for blk := 0; blk < 2; blk++ {
			fillBlock(sk.ring, blk, []testFrame{{data: dnsQuery}, {data: dnsQuery}})
		}
	}
	var order []int
	for i := 0; i < 8; i++ {
		_, ci, err := s.ReadPacket()
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, ci.IfIndex)
	}
	want := []int{0, 0, 1, 1, 0, 0, 1, 1}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("interfaces read in order %v, want %v (a block each in turn)", order, want)
	}
}
