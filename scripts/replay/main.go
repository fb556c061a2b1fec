// Command replay writes the frames of an Ethernet pcap onto an interface at
// a given rate, through an AF_PACKET TX ring (PACKET_TX_RING, bypassing the
// qdisc): frames are queued in memory shared with the kernel and sent a
// batch per system call, so it reaches rates tcpreplay's one sendto per
// frame cannot on a small machine. Used by scripts/bench/live.sh.
//
//	replay -i veth0 -pps 500000 -loop 100 dns.pcap
//
// At the end it prints one JSON line: frames sent, failed, seconds, pps.
package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/google/gopacket/pcap"
	"golang.org/x/sys/unix"
)

// struct tpacket2_hdr; frame data starts right after it on transmit.
const (
	hdrStatus = 0
	hdrLen    = 4
	hdrSize   = 32
)

type result struct {
	Sent    uint64  `json:"sent"`
	Failed  uint64  `json:"failed"`
	Seconds float64 `json:"seconds"`
	PPS     float64 `json:"pps"`
}

func main() {
	iface := flag.String("i", "", "interface to write to")
	pps := flag.Int("pps", 0, "frames per second (0: as fast as possible)")
	loop := flag.Int("loop", 1, "times to replay the file")
	flag.Parse()
	if *iface == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: replay -i IFACE [-pps N] [-loop N] FILE.pcap")
		os.Exit(2)
	}
	frames, err := load(flag.Arg(0))
	if err == nil {
		var res result
		res, err = send(*iface, frames, *loop, *pps)
		if err == nil {
			json.NewEncoder(os.Stdout).Encode(res)
			return
		}
	}
	fmt.Fprintf(os.Stderr, "replay: error: %v\n", err)
	os.Exit(1)
}

func load(path string) ([][]byte, error) {
	h, err := pcap.OpenOffline(path)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if h.LinkType() != 1 {
		return nil, fmt.Errorf("%s: link type %v, need Ethernet", path, h.LinkType())
	}
	var frames [][]byte
	for {
		data, _, err := h.ReadPacketData()
		if err == io.EOF || errors.Is(err, pcap.NextErrorNoMorePackets) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		frames = append(frames, append([]byte(nil), data...))
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("%s: no frames", path)
	}
	return frames, nil
}

func send(iface string, frames [][]byte, loop, pps int) (result, error) {
	maxLen := 0
	for _, f := range frames {
		maxLen = max(maxLen, len(f))
	}
	frameSize := 2048
	for frameSize < maxLen+hdrSize {
		frameSize *= 2
	}
	const blockSize = 1 << 20
	if frameSize > blockSize {
		return result{}, fmt.Errorf("a frame of %d bytes is too big", maxLen)
	}
	nframes := 8 * blockSize / frameSize

	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return result{}, err
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return result{}, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
		return result{}, err
	}
	req := unix.TpacketReq{Block_size: blockSize, Block_nr: 8, Frame_size: uint32(frameSize), Frame_nr: uint32(nframes)}
	if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_TX_RING, &req); err != nil {
		return result{}, fmt.Errorf("PACKET_TX_RING: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, 8*blockSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return result{}, err
	}
	defer unix.Munmap(mem)
	ifi, err := unix.NewIfreq(iface)
	if err != nil {
		return result{}, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifi); err != nil {
		return result{}, fmt.Errorf("%s: %w", iface, err)
	}
	// Protocol 0: the socket only sends, it never queues what it sees.
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: int(ifi.Uint32())}); err != nil {
		return result{}, err
	}

	status := func(i int) *uint32 { return (*uint32)(unsafe.Pointer(&mem[i*frameSize+hdrStatus])) }
	flush := func() error {
		_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), 0, 0, 0, 0, 0)
		if e != 0 && e != unix.EAGAIN && e != unix.ENOBUFS {
			return e
		}
		return nil
	}
	// Batches of about a millisecond's worth of frames keep the average
	// rate without a timer per frame.
	batch := 256
	if pps > 0 {
		batch = min(max(pps/1000, 1), nframes/2)
	}
	var res result
	slot, queued := 0, 0
	total := len(frames) * loop
	start := time.Now()
	for k := 0; k < total; k++ {
		for atomic.LoadUint32(status(slot)) != unix.TP_STATUS_AVAILABLE {
			if atomic.LoadUint32(status(slot)) == unix.TP_STATUS_WRONG_FORMAT {
				res.Failed++
				atomic.StoreUint32(status(slot), unix.TP_STATUS_AVAILABLE)
				break
			}
			if err := flush(); err != nil {
				return res, err
			}
		}
		f := frames[k%len(frames)]
		p := mem[slot*frameSize:]
		copy(p[hdrSize:], f)
		binary.NativeEndian.PutUint32(p[hdrLen:], uint32(len(f)))
		atomic.StoreUint32(status(slot), unix.TP_STATUS_SEND_REQUEST)
		slot = (slot + 1) % nframes
		queued++
		if queued == batch || k == total-1 {
			if err := flush(); err != nil {
				return res, err
			}
			queued = 0
			if pps > 0 {
				due := start.Add(time.Duration(float64(k+1) / float64(pps) * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
			}
		}
	}
	// Wait for the last frames to leave.
	for i := 0; i < nframes; i++ {
		for atomic.LoadUint32(status(i))&(unix.TP_STATUS_SEND_REQUEST|unix.TP_STATUS_SENDING) != 0 {
			if err := flush(); err != nil {
				return res, err
			}
		}
		if atomic.LoadUint32(status(i)) == unix.TP_STATUS_WRONG_FORMAT {
			res.Failed++
		}
	}
	res.Seconds = time.Since(start).Seconds()
	res.Sent = uint64(total) - res.Failed
	res.PPS = float64(res.Sent) / res.Seconds
	return res, nil
}
