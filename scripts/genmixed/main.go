// Command genmixed writes a large capture of ordinary mixed traffic for
// nfr-capture's whole-program benchmark: DNS lookups, short HTTP and TLS
// connections, long bulk TCP transfers, and ICMP echoes, over IPv4 and IPv6,
// between 250 internal hosts and 1,000 servers. With -short it writes the
// workload of issue 11 instead: half the packets short TCP connections
// from 60,000 clients (handshake, one HTTP request or TLS ClientHello, a
// response, FIN), half DNS.
//
//	go run ./scripts/genmixed -n 1000000 -o testdata/bench/mixed.pcap
//	go run ./scripts/genmixed -short -n 1000000 -o testdata/bench/short.pcap
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/nfr-project/nfr/scripts/genthreats/traffic"
)

func main() {
	n := flag.Int("n", 1000000, "at least this many packets")
	out := flag.String("o", "mixed.pcap", "output pcap file")
	seed := flag.Int64("seed", 1, "random seed")
	short := flag.Bool("short", false, "half short HTTP/TLS connections from many clients, half DNS")
	flag.Parse()
	if err := run(*n, *out, *seed, *short); err != nil {
		fmt.Fprintf(os.Stderr, "genmixed: error: %v\n", err)
		os.Exit(1)
	}
}

func run(n int, out string, seed int64, short bool) error {
	g := traffic.New(seed)
	r := g.Rand
	client := func(i int) netip.Addr {
		if i%5 == 0 {
			return netip.AddrFrom16([16]byte{0xfd, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)})
		}
		return netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
	}
	server := func(i int, v6 bool) netip.Addr {
		if v6 {
			return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)})
		}
		return netip.AddrFrom4([4]byte{203, 0, 113 + byte(i%3), byte(i)})
	}
	t := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	dnsPkts, tcpPkts := 0, 0
	for short && g.Packets() < n {
		t = t.Add(time.Duration(r.Intn(2000)+1) * time.Microsecond)
		c := r.Intn(60000)
		src := client(c)
		dst := server(r.Intn(1000), src.Is6())
		name := fmt.Sprintf("www%d.example%d.com", r.Intn(50), r.Intn(400))
		before := g.Packets()
		switch {
		case dnsPkts <= tcpPkts:
			src = netip.AddrFrom4([4]byte{10, 1, byte(c >> 8), byte(c)})
			g.DNS(t, src, name, layers.DNSTypeA, layers.DNSResponseCodeNoErr, dst.String())
			dnsPkts += g.Packets() - before
			continue
		case r.Intn(2) == 0:
			g.HTTP(t, src, dst, 80, name, fmt.Sprintf("http://%s/page/%d", name, r.Intn(1000)),
				"Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0", 200, r.Intn(300))
		default:
			g.TLS(t, src, dst, 443, name, 0, 0)
		}
		tcpPkts += g.Packets() - before
	}
	for !short && g.Packets() < n {
		t = t.Add(time.Duration(r.Intn(20)+1) * time.Millisecond)
		c := r.Intn(250)
		src := client(c)
		dst := server(r.Intn(1000), src.Is6())
		name := fmt.Sprintf("www%d.example%d.com", r.Intn(50), r.Intn(400))
		switch k := r.Intn(100); {
		case k < 40:
			// The resolver is IPv4; IPv6 hosts ask it for AAAA records.
			qt := layers.DNSTypeA
			if src.Is6() {
				qt = layers.DNSTypeAAAA
				src = netip.AddrFrom4([4]byte{10, 1, byte(c >> 8), byte(c)})
			}
			g.DNS(t, src, name, qt, layers.DNSResponseCodeNoErr, dst.String())
		case k < 60:
			g.HTTP(t, src, dst, 80, name, fmt.Sprintf("http://%s/page/%d?q=%d", name, r.Intn(1000), r.Intn(1e6)),
				"Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0", 200, 200+r.Intn(6000))
		case k < 85:
			g.TLS(t, src, dst, 443, name, r.Intn(800), r.Intn(12000))
		case k < 90:
			g.TCP(t, traffic.Conn{Src: src, Dst: dst, Port: 22, OutSize: int64(50000 + r.Intn(400000)), Dur: 5 * time.Second})
		case k < 95:
			g.TCP(t, traffic.Conn{Src: src, Dst: dst, Port: uint16(1024 + r.Intn(60000)), NoAnswer: r.Intn(2) == 0, Refused: true})
		default:
			g.ICMPEcho(t, src, dst, 4, 56, time.Second)
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := g.WritePcap(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	fmt.Fprintf(os.Stderr, "genmixed: %d packets in %s\n", g.Packets(), out)
	return f.Close()
}
