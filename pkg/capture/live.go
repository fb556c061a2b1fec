package capture

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/google/gopacket/pcap"

	"github.com/nfr-project/nfr/pkg/decode"
)

// LiveConfig configures a libpcap capture.
type LiveConfig struct {
	Interface string // "any" captures on every interface
	Filter    string // BPF, tcpdump syntax
	SnapLen   int    // 0 means 262144
	NoPromisc bool
	// Poll bounds how long ReadPacket blocks without a packet, so the
	// clock still advances on a quiet interface; 0 means 200 ms.
	Poll time.Duration
}

// Live captures from an interface through libpcap.
type Live struct {
	h    *pcap.Handle
	link uint16

	mu                sync.Mutex
	closed            bool
	received, dropped uint64
	statsOK           bool
}

// errTimeout is returned by Live.ReadPacket when no packet came within the
// poll interval; Run treats any error with Timeout() true as a clock tick.
type errTimeout struct{}

func (errTimeout) Error() string { return "no packet within the poll interval" }
func (errTimeout) Timeout() bool { return true }

// OpenLive opens an interface.
func OpenLive(cfg LiveConfig) (*Live, error) {
	snap := cfg.SnapLen
	if snap <= 0 {
		snap = maxPcapCapLen
	}
	poll := cfg.Poll
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	in, err := pcap.NewInactiveHandle(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", cfg.Interface, err)
	}
	defer in.CleanUp()
	if err := in.SetSnapLen(snap); err != nil {
		return nil, fmt.Errorf("%s: snaplen: %v", cfg.Interface, err)
	}
	if err := in.SetPromisc(!cfg.NoPromisc); err != nil {
		return nil, fmt.Errorf("%s: promiscuous mode: %v", cfg.Interface, err)
	}
	if err := in.SetTimeout(poll); err != nil {
		return nil, fmt.Errorf("%s: %v", cfg.Interface, err)
	}
	in.SetBufferSize(8 << 20)
	h, err := in.Activate()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", cfg.Interface, err)
	}
	if cfg.Filter != "" {
		if err := h.SetBPFFilter(cfg.Filter); err != nil {
			h.Close()
			return nil, &FilterError{Filter: cfg.Filter, Err: err}
		}
	}
	return &Live{h: h, link: uint16(h.LinkType())}, nil
}

// FilterError is a BPF expression libpcap did not accept.
type FilterError struct {
	Filter string
	Err    error
}

func (e *FilterError) Error() string { return fmt.Sprintf("bad filter %q: %v", e.Filter, e.Err) }

// ReadPacket returns the next frame, a timeout error when none came within
// the poll interval, or io.EOF once closed.
func (l *Live) ReadPacket() ([]byte, decode.CaptureInfo, error) {
	data, ci, err := l.h.ZeroCopyReadPacketData()
	if err != nil {
		var ne pcap.NextError
		if errors.As(err, &ne) && ne == pcap.NextErrorTimeoutExpired {
			return nil, decode.CaptureInfo{}, errTimeout{}
		}
		if err == io.EOF {
			return nil, decode.CaptureInfo{}, io.EOF
		}
		return nil, decode.CaptureInfo{}, err
	}
	return data, decode.CaptureInfo{
		TS:       ci.Timestamp.UTC(),
		CapLen:   ci.CaptureLength,
		WireLen:  ci.Length,
		LinkType: l.link,
		IfIndex:  ci.InterfaceIndex,
	}, nil
}

// KernelStats returns what the kernel received and dropped.
func (l *Live) KernelStats() (received, dropped uint64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.refreshLocked()
	}
	return l.received, l.dropped, l.statsOK
}

func (l *Live) refreshLocked() {
	s, err := l.h.Stats()
	if err != nil {
		return
	}
	l.received, l.dropped, l.statsOK = uint64(s.PacketsReceived), uint64(s.PacketsDropped)+uint64(s.PacketsIfDropped), true
}

// Close stops the capture; a blocked ReadPacket returns io.EOF.
func (l *Live) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.refreshLocked() // the counters die with the handle
	l.closed = true
	l.h.Close()
	return nil
}
