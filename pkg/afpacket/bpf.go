package afpacket

import (
	"fmt"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"
	"golang.org/x/sys/unix"
)

// dltRaw is DLT_RAW as libpcap's pcap_open_dead wants it on Linux (the file
// format's LINKTYPE_RAW is 101).
const dltRaw = 12

// Compile compiles a tcpdump-syntax filter with libpcap's pcap_compile for
// frames of the given LINKTYPE, cutting matching frames to snaplen.
//
// The program runs on frames whose VLAN tag the kernel already removed,
// and libpcap only rewrites vlan primitives for that on its own live
// handles, so "vlan" does not match here; filters on what follows the tag
// (host, port, ...) see the inner headers.
func Compile(expr string, linkType uint16, snaplen int) ([]unix.SockFilter, error) {
	ins, err := pcap.CompileBPFFilter(layers.LinkType(linkType), snaplen, expr)
	if err != nil {
		return nil, err
	}
	prog := make([]unix.SockFilter, len(ins))
	for i, in := range ins {
		prog[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return prog, nil
}

// attachFilter attaches cfg.Filter, or a program that only cuts frames to
// the snaplen, to a socket on ifc. A cooked socket's filter sees frames
// from the network header, so its program is compiled for raw IP and link
// layer primitives (ether host, vlan, ...) are refused there.
func attachFilter(fd int, cfg *Config, ifc *iface) error {
	var prog []unix.SockFilter
	switch {
	case cfg.Filter != "":
		lt := uint16(ifc.linkType)
		if ifc.cooked {
			lt = dltRaw
		}
		p, err := Compile(cfg.Filter, lt, cfg.Snaplen)
		if err != nil {
			return fmt.Errorf("filter %q: %w", cfg.Filter, err)
		}
		prog = p
	case cfg.Snaplen < DefaultSnaplen:
		// The kernel cuts a frame to what the filter returns.
		prog = []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: uint32(cfg.Snaplen)}}
	default:
		return nil
	}
	if err := attachProgram(fd, prog); err != nil {
		return fmt.Errorf("attach filter: %w", err)
	}
	return nil
}
