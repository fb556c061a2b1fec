// Command gendns writes a pcap of synthetic DNS traffic for benchmarks:
// queries and their responses over IPv4 and IPv6, several query types,
// answered, NXDOMAIN and unanswered, from many clients.
//
//	go run ./scripts/gendns -o testdata/bench/dns.pcap -n 1000000
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("o", "dns.pcap", "output pcap file")
	n := flag.Int("n", 1000000, "number of packets")
	flag.Parse()
	if err := write(*out, *n); err != nil {
		fmt.Fprintf(os.Stderr, "gendns: error: %v\n", err)
		os.Exit(1)
	}
}

type qtype struct {
	code uint16
	name string
}

var qtypes = []qtype{{1, "A"}, {28, "AAAA"}, {1, "A"}, {15, "MX"}, {16, "TXT"}, {65, "HTTPS"}, {1, "A"}, {5, "CNAME"}}

var domains = []string{"www.example.com", "mail.example.org", "cdn.assets.example.net", "api.service.internal.example", "login.example.co.uk", "a1b2c3d4e5.tracker.example.info"}

// lag is how many packets later a response follows its query, so the
// pairing table holds some queries in flight.
const lag = 8

func write(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	w.Write(hdr)

	var frame, msg []byte
	ts := int64(1_700_000_000_000_000) // microseconds
	written := 0
	// Packets come as queries i and responses i-lag interleaved.
	for i := 0; written < n; i++ {
		for _, resp := range []bool{false, true} {
			k := i
			if resp {
				k = i - lag
				if k < 0 {
					continue
				}
				if k%50 == 49 { // every 50th query stays unanswered
					continue
				}
			}
			if written >= n {
				break
			}
			msg = dnsMessage(msg[:0], k, resp)
			frame = udpFrame(frame[:0], k, resp, msg)
			var rec [16]byte
			binary.LittleEndian.PutUint32(rec[0:], uint32(ts/1e6))
			binary.LittleEndian.PutUint32(rec[4:], uint32(ts%1e6))
			binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
			binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
			w.Write(rec[:])
			w.Write(frame)
			ts += 7
			written++
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func appendName(b []byte, name string) []byte {
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			b = append(b, byte(i-start))
			b = append(b, name[start:i]...)
			start = i + 1
		}
	}
	return append(b, 0)
}

func dnsMessage(b []byte, k int, resp bool) []byte {
	qt := qtypes[k%len(qtypes)]
	name := fmt.Sprintf("h%d.%s", k%997, domains[k%len(domains)])
	flags := uint16(0x0100)
	nx := k%23 == 0
	var an uint16
	if resp {
		flags |= 0x8080
		if nx {
			flags |= 3
		} else {
			an = 1
			if qt.code == 5 || qt.code == 1 && k%3 == 0 {
				an = 2
			}
		}
	}
	b = binary.BigEndian.AppendUint16(b, uint16(k))
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint16(b, an)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = appendName(b, name)
	qc := qt.code
	if qc == 5 {
		qc = 1
	}
	b = binary.BigEndian.AppendUint16(b, qc)
	b = binary.BigEndian.AppendUint16(b, 1)
	for a := 0; a < int(an); a++ {
		b = append(b, 0xc0, 12) // pointer to the question name
		typ := qt.code
		if an == 2 && a == 0 {
			typ = 5
		} else if qt.code == 5 {
			typ = 1
		}
		b = binary.BigEndian.AppendUint16(b, typ)
		b = binary.BigEndian.AppendUint16(b, 1)
		b = binary.BigEndian.AppendUint32(b, uint32(60+k%3600))
		lenAt := len(b)
		b = append(b, 0, 0)
		switch typ {
		case 1:
			b = append(b, 192, 0, 2, byte(k))
		case 28:
			b = append(b, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(k>>8), byte(k))
		case 5:
			b = appendName(b, "edge.cdn.example.net")
		case 15:
			b = binary.BigEndian.AppendUint16(b, 10)
			b = appendName(b, "mx1.example.org")
		case 16:
			txt := "v=spf1 include:_spf.example.com ~all"
			b = append(b, byte(len(txt)))
			b = append(b, txt...)
		case 65:
			b = binary.BigEndian.AppendUint16(b, 1)
			b = append(b, 0)
			b = append(b, 0, 1, 0, 3, 2, 'h', '2')
		}
		binary.BigEndian.PutUint16(b[lenAt:], uint16(len(b)-lenAt-2))
	}
	return b
}

func udpFrame(b []byte, k int, resp bool, payload []byte) []byte {
	v6 := k%4 == 3
	client := uint16(1024 + k%60000)
	sport, dport := client, uint16(53)
	if resp {
		sport, dport = 53, client
	}
	b = append(b, 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2)
	if v6 {
		b = append(b, 0x86, 0xdd)
		b = append(b, 0x60, 0, 0, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(8+len(payload)))
		b = append(b, 17, 64)
		cl := []byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, byte(k >> 8 & 0x3f), byte(k)}
		srv := []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53}
		if resp {
			cl, srv = srv, cl
		}
		b = append(b, cl...)
		b = append(b, srv...)
	} else {
		b = append(b, 0x08, 0x00)
		ip := len(b)
		b = append(b, 0x45, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(28+len(payload)))
		b = binary.BigEndian.AppendUint16(b, uint16(k))
		b = append(b, 0, 0, 64, 17, 0, 0)
		cl := []byte{10, byte(k >> 16 & 0x0f), byte(k >> 8), byte(k)}
		srv := []byte{10, 255, 0, 53}
		if resp {
			cl, srv = srv, cl
		}
		b = append(b, cl...)
		b = append(b, srv...)
		var sum uint32
		for i := ip; i < ip+20; i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		for sum > 0xffff {
			sum = sum>>16 + sum&0xffff
		}
		binary.BigEndian.PutUint16(b[ip+10:], ^uint16(sum))
	}
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(payload)))
	b = append(b, 0, 0)
	return append(b, payload...)
}
