// Command livesink counts the frames arriving on an interface, through
// AF_PACKET (pkg/afpacket, with N fanout workers) or through libpcap, until
// SIGINT or SIGTERM, then prints one JSON line of counters. It is the
// listening end of scripts/bench/live.sh, which steps a tcpreplay rate up
// until frames are lost.
//
//	livesink -m afpacket -w 2 -i veth1 -ready /tmp/ready
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/gopacket/pcap"

	"github.com/nfr-project/nfr/pkg/afpacket"
)

type result struct {
	Mode      string `json:"mode"`
	Workers   int    `json:"workers"`
	Delivered uint64 `json:"delivered"`
	Received  uint64 `json:"received"`
	Dropped   uint64 `json:"dropped"`
	Freezes   uint64 `json:"freezes"`
	PeakRSSKB int    `json:"peakRSSKB"`
}

func main() {
	mode := flag.String("m", "afpacket", "afpacket or libpcap")
	iface := flag.String("i", "", "interface")
	workers := flag.Int("w", 1, "AF_PACKET fanout workers")
	ring := flag.Int("ring", afpacket.DefaultRingSize, "ring (AF_PACKET, per worker) or buffer (libpcap) size in bytes")
	block := flag.Int("block", afpacket.DefaultBlockSize, "AF_PACKET block size in bytes")
	ready := flag.String("ready", "", "file to create once the interface is open")
	flag.Parse()
	if *iface == "" {
		fmt.Fprintln(os.Stderr, "livesink: error: -i IFACE is required")
		os.Exit(2)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	var (
		res result
		err error
	)
	switch *mode {
	case "afpacket":
		res, err = runAFPacket(*iface, *workers, *ring, *block, *ready, stop)
	case "libpcap":
		res, err = runLibpcap(*iface, *ring, *ready, stop)
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "livesink: error: %v\n", err)
		os.Exit(1)
	}
	res.PeakRSSKB = peakRSS()
	json.NewEncoder(os.Stdout).Encode(res)
}

func markReady(path string) error {
	if path == "" {
		return nil
	}
	return os.WriteFile(path, []byte("ready\n"), 0o644)
}

func runAFPacket(iface string, workers, ring, block int, ready string, stop <-chan os.Signal) (result, error) {
	c, err := afpacket.Open(afpacket.Config{Interfaces: []string{iface}, Workers: workers, RingSize: ring, BlockSize: block})
	if err != nil {
		return result{}, err
	}
	if err := markReady(ready); err != nil {
		return result{}, err
	}
	var wg sync.WaitGroup
	var sum atomic.Uint64
	for _, s := range c.Sources() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var touch byte
			for {
				data, _, err := s.ReadPacket()
				if err != nil {
					sum.Add(uint64(touch))
					return
				}
				touch += data[len(data)-1] // read the frame, as a decoder would
			}
		}()
	}
	<-stop
	c.Close()
	wg.Wait()
	st := c.Stats()
	return result{Mode: "afpacket", Workers: workers, Delivered: st.Delivered, Received: st.Received, Dropped: st.Dropped, Freezes: st.FreezeQueue}, nil
}

func runLibpcap(iface string, buffer int, ready string, stop <-chan os.Signal) (result, error) {
	in, err := pcap.NewInactiveHandle(iface)
	if err != nil {
		return result{}, err
	}
	defer in.CleanUp()
	in.SetSnapLen(262144)
	in.SetBufferSize(buffer)
	in.SetTimeout(10 * time.Millisecond)
	h, err := in.Activate()
	if err != nil {
		return result{}, err
	}
	defer h.Close()
	if err := markReady(ready); err != nil {
		return result{}, err
	}
	var halt atomic.Bool
	go func() { <-stop; halt.Store(true) }()
	var n uint64
	var touch byte
	for !halt.Load() {
		data, _, err := h.ZeroCopyReadPacketData()
		if errors.Is(err, pcap.NextErrorTimeoutExpired) {
			continue
		}
		if err != nil {
			return result{}, err
		}
		touch += data[len(data)-1]
		n++
	}
	// Drain what is already in the ring, as the AF_PACKET reader does.
	for {
		data, _, err := h.ZeroCopyReadPacketData()
		if err != nil {
			break
		}
		touch += data[len(data)-1]
		n++
	}
	_ = touch
	st, err := h.Stats()
	if err != nil {
		return result{}, err
	}
	return result{Mode: "libpcap", Workers: 1, Delivered: n, Received: uint64(st.PacketsReceived), Dropped: uint64(st.PacketsDropped)}, nil
}

// peakRSS returns VmHWM from /proc/self/status in kB.
func peakRSS() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
