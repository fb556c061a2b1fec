// Package decode turns captured frames into Packets: link layers (Ethernet,
// 802.1Q and Q-in-Q, Linux cooked SLL/SLL2, raw IP, BSD loopback, PPP), IPv4
// and IPv6 with extension headers, fragment reassembly, tunnels, and the
// transport header. Sources (files, libpcap, AF_PACKET) and analysers
// (Handlers) meet here, so a file and a live interface share one path.
package decode
