package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/dns"
	"github.com/nfr-project/nfr/pkg/event"
)

// readAll reads every frame of a capture and returns their infos and the
// error that ended the reading (nil at a clean end).
func readAll(t *testing.T, path string) ([]decode.CaptureInfo, *File, error) {
	t.Helper()
	f, err := Open(path, nil)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var cis []decode.CaptureInfo
	for {
		_, ci, err := f.ReadPacket()
		if err == io.EOF {
			return cis, f, nil
		}
		if err != nil {
			return cis, f, err
		}
		cis = append(cis, ci)
	}
}

// TestPcapngSuite checks every file of the pcapng test generator against the
// block counts its .txt describes: every EPB/OPB is a packet, SPBs are
// counted as skipped, and the other blocks are skipped without error.
func TestPcapngSuite(t *testing.T) {
	files, _ := filepath.Glob(testenv.SharedPath(t, "pcap", "pcapng-suite", "*", "*", "*.txt"))
	if len(files) < 20 {
		t.Fatalf("pcapng suite: only %d cases", len(files))
	}
	count := regexp.MustCompile(`(?m)^\s+(\w+): (\d+)$`)
	for _, txt := range files {
		rel, _ := filepath.Rel(testenv.SharedPath(t, "pcap", "pcapng-suite"), txt)
		t.Run(rel, func(t *testing.T) {
			desc, _ := os.ReadFile(txt)
			want := map[string]int{}
			for _, m := range count.FindAllStringSubmatch(string(desc), -1) {
				want[m[1]], _ = strconv.Atoi(m[2])
			}
			cis, f, err := readAll(t, strings.TrimSuffix(txt, ".txt")+".pcapng")
			if err != nil {
				t.Fatal(err)
			}
			if len(cis) != want["EPB"]+want["OPB"] {
				t.Errorf("packets = %d, want %d EPB + %d OPB", len(cis), want["EPB"], want["OPB"])
			}
			if int(f.Stats.SimplePackets) != want["SPB"] {
				t.Errorf("simple packet blocks = %d, want %d", f.Stats.SimplePackets, want["SPB"])
			}
			other := want["NRB"] + want["ISB"] + want["CB"] + want["DCB"]
			if int(f.Stats.SkippedBlocks) != other {
				t.Errorf("skipped blocks = %d, want %d (NRB+ISB+CB+DCB)", f.Stats.SkippedBlocks, other)
			}
		})
	}
}

// TestBrokenFiles checks damaged captures: every frame before the damage is
// returned, then an error naming the offset.
func TestBrokenFiles(t *testing.T) {
	for _, c := range []struct {
		file    string
		packets int
		err     string // "" means a clean end
	}{
		{"pcap/broken/tls_DER-incomplete-header.pcap", 6, "invalid packet capture length 4325376, bigger than maximum of 262144 at offset 5035"},
		{"pcap/broken/empty.pcap", 0, ""},
		{"pcap/broken/trunc-hdr.pcap", 1, ""},
		{"pcap/pcapng-suite/gopacket-extra/le-test901.pcapng", 1, "unsupported pcapng section version 2.0 at offset"},
		{"pcap/pcapng-suite/gopacket-extra/be-test901.pcapng", 1, "unsupported pcapng section version 2.0 at offset"},
		{"tcpdump/empty/empty.pcap", 0, ""},
		{"tcpdump/empty/empty.pcapng", 0, ""},
	} {
		t.Run(c.file, func(t *testing.T) {
			cis, _, err := readAll(t, testenv.SharedPath(t, c.file))
			if len(cis) != c.packets {
				t.Errorf("packets = %d, want %d", len(cis), c.packets)
			}
			switch {
			case c.err == "" && err != nil:
				t.Errorf("err = %v, want a clean end", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Errorf("err = %v, want %q", err, c.err)
			}
			var fe *FormatError
			if err != nil && !errors.As(err, &fe) {
				t.Errorf("err %T is not a *FormatError", err)
			}
		})
	}
}

// TestTruncatedEverywhere cuts a good capture at every length: the reader
// returns the whole frames before the cut and then an error naming an
// offset, never a panic and never a partial frame.
func TestTruncatedEverywhere(t *testing.T) {
	for _, name := range []string{"tcpdump/dns_udp/dns_udp.pcap", "zeek/conn-pcapng-multi-interface/pcapng-multi-interface.pcapng"} {
		full, err := os.ReadFile(testenv.SharedPath(t, name))
		if err != nil {
			t.Fatal(err)
		}
		whole := countFrames(t, full)
		for n := 0; n < len(full); n++ {
			f, err := NewFile(bytes.NewReader(full[:n]), "cut")
			if err != nil {
				continue
			}
			got := 0
			for {
				_, _, err = f.ReadPacket()
				if err != nil {
					break
				}
				got++
			}
			f.Close()
			if err == io.EOF && got == whole {
				t.Errorf("%s cut at %d: all %d frames and a clean end", name, n, got)
			}
			var fe *FormatError
			if err != io.EOF && !errors.As(err, &fe) {
				t.Errorf("%s cut at %d: %v", name, n, err)
			}
		}
	}
}

func countFrames(t *testing.T, b []byte) int {
	f, err := NewFile(bytes.NewReader(b), "x")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, _, err := f.ReadPacket(); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			return n
		}
		n++
	}
}

// TestTimestamps checks micro- and nanosecond pcap and far-future pcapng
// timestamps against tcpdump's -tt output.
func TestTimestamps(t *testing.T) {
	for _, c := range []struct{ capture, out string }{
		{"tcpdump/tcp-handshake-nano/tcp-handshake-nano.pcap", "tcpdump/tcp-handshake-nano/tcp-handshake-nano-tt.out"},
		{"tcpdump/time_2106/time_2106_overflow.pcapng", "tcpdump/time_2106/time_2106_overflow-tt.out"},
		{"tcpdump/time_2106/time_2107.pcapng", "tcpdump/time_2106/time_2107-tt.out"},
	} {
		t.Run(c.capture, func(t *testing.T) {
			cis, _, err := readAll(t, testenv.SharedPath(t, c.capture))
			if err != nil {
				t.Fatal(err)
			}
			out, _ := os.ReadFile(testenv.SharedPath(t, c.out))
			var want []string
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				if f := strings.Fields(sc.Text()); len(f) > 1 {
					want = append(want, f[1])
				}
			}
			if len(want) != len(cis) {
				t.Fatalf("%d frames, tcpdump printed %d", len(cis), len(want))
			}
			for i, w := range want {
				sec, nsec, err := parseEpochDigits(w)
				if err != nil {
					t.Fatal(err)
				}
				if got := cis[i].TS; !got.Equal(time.Unix(sec, nsec)) {
					t.Errorf("frame %d: ts %d.%09d, tcpdump %s", i+1, got.Unix(), got.Nanosecond(), w)
				}
			}
		})
	}
}

func parseEpochDigits(s string) (int64, int64, error) {
	sec, frac, _ := strings.Cut(s, ".")
	a, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, 0, err
	}
	ns, err := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	return a, ns, err
}

// TestGzipAndStdin reads a gzip-compressed capture and a capture from a
// plain reader standing for stdin.
func TestGzipAndStdin(t *testing.T) {
	raw, err := os.ReadFile(testenv.SharedPath(t, "tcpdump/dns_udp/dns_udp.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	for name, b := range map[string][]byte{"plain": raw, "gzip": gz.Bytes()} {
		f, err := Open("-", bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := 0
		for {
			if _, _, err := f.ReadPacket(); err != nil {
				if err != io.EOF {
					t.Fatalf("%s: %v", name, err)
				}
				break
			}
			n++
		}
		if n != 2 {
			t.Errorf("%s: %d frames, want 2", name, n)
		}
	}
}

func FuzzFile(f *testing.F) {
	for _, name := range []string{"tcpdump/dns_udp/dns_udp.pcap", "tcpdump/tcp-handshake-nano/tcp-handshake-nano.pcap", "pcap/pcapng-suite/le/difficult/test202.pcapng", "pcap/pcapng-suite/be/basic/test006.pcapng"} {
		b, err := os.ReadFile(testenv.SharedPath(f, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewFile(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		defer r.Close()
		// The whole path: frames through the decoder into the DNS analyser.
		h := dns.NewHandler(dns.Config{Ports: []uint16{5353}, Emit: func(e *event.Event) { e.AppendJSON(nil) }})
		d := decode.NewDecoder(h)
		defer d.Close()
		for {
			data, ci, err := r.ReadPacket()
			if err == nil {
				d.Decode(data, ci, "fuzz")
				d.Advance(ci.TS)
			}
			if err != nil {
				var fe *FormatError
				if err != io.EOF && !errors.As(err, &fe) {
					t.Fatalf("error %T %v", err, err)
				}
				return
			}
			if len(data) != ci.CapLen {
				t.Fatalf("frame of %d bytes, caplen %d", len(data), ci.CapLen)
			}
		}
	})
}

// TestBigEndianPcap rewrites a little-endian pcap into big-endian and
// micro- into nanoseconds, and checks the frames and times are the same.
func TestBigEndianPcap(t *testing.T) {
	raw, err := os.ReadFile(testenv.SharedPath(t, "tcpdump/dns_tcp/dns_tcp.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if le.Uint32(raw) != 0xa1b2c3d4 {
		t.Fatal("expected a little-endian microsecond pcap")
	}
	be := append([]byte(nil), raw...)
	binary.BigEndian.PutUint32(be, 0xa1b23c4d) // nanosecond magic
	for _, o := range []int{4, 6} {
		binary.BigEndian.PutUint16(be[o:], le.Uint16(raw[o:]))
	}
	for o := 8; o < 24; o += 4 {
		binary.BigEndian.PutUint32(be[o:], le.Uint32(raw[o:]))
	}
	for off := 24; off+16 <= len(raw); {
		caplen := le.Uint32(raw[off+8:])
		binary.BigEndian.PutUint32(be[off:], le.Uint32(raw[off:]))
		binary.BigEndian.PutUint32(be[off+4:], le.Uint32(raw[off+4:])*1000)
		binary.BigEndian.PutUint32(be[off+8:], caplen)
		binary.BigEndian.PutUint32(be[off+12:], le.Uint32(raw[off+12:]))
		off += 16 + int(caplen)
	}
	read := func(b []byte) (out []string) {
		f, err := NewFile(bytes.NewReader(b), "x")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for {
			data, ci, err := f.ReadPacket()
			if err != nil {
				return out
			}
			out = append(out, ci.TS.Format(time.RFC3339Nano)+" "+string(data))
		}
	}
	a, b := read(raw), read(be)
	if len(a) != 11 || strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("little-endian micro and big-endian nano differ: %d and %d frames", len(a), len(b))
	}
}

// TestOddDNSCaptures runs captures without a reference output: they must
// decode without error, and these expectations hold.
func TestOddDNSCaptures(t *testing.T) {
	for _, c := range []struct {
		file   string
		ports  []uint16
		events int
	}{
		{"pcap/dns/proto255.pcap", nil, 0},                     // IP protocol 255 is not UDP: no DNS
		{"pcap/dns/mdns.pcap", []uint16{5353}, 39},             // every question of every mDNS message
		{"pcap/dns/mdns.pcap", nil, 0},                         // 5353 only when asked for
		{"pcap/dns/dns-inverse-query.pcap", nil, 1},            // FDDI link, DNS over TCP, opcode 1
		{"pcap/dns/dns-invalid-names.pcap", nil, 0},            // pointer loops and cut names: counted
		{"pcap/dns/long-connection.pcap", nil, 11},             // one UDP flow, many transactions
		{"tcpdump/ppp_ip_udp_dns/ppp_ip_udp_dns.pcap", nil, 0}, // unknown PPP protocol
	} {
		evs := decodeFiles(t, false, 5*time.Second, c.ports, testenv.SharedPath(t, c.file))
		if len(evs) != c.events {
			t.Errorf("%s: %d events, want %d:%s", c.file, len(evs), c.events, eventsText(evs))
		}
	}
}

// chunkReader returns at most a few thousand bytes per Read, as a pipe
// does, so frames straddle every read.
type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	c.n = (c.n*7 + 3) % 7001
	m := copy(p[:min(len(p), c.n+1)], c.b)
	c.b = c.b[m:]
	return m, nil
}

// pcapHeader returns the file header of a little-endian, microsecond,
// Ethernet pcap.
func pcapHeader(snaplen uint32) []byte {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], snaplen)
	binary.LittleEndian.PutUint32(h[20:], 1)
	return h
}

// appendRecord appends a pcap record of frame at sec seconds.
func appendRecord(pcap []byte, sec uint32, frame []byte) []byte {
	var rec [16]byte
	binary.LittleEndian.PutUint32(rec[0:], sec)
	binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
	return append(append(pcap, rec[:]...), frame...)
}

// TestManyBuffers reads a capture of many megabytes, frames of every size
// from 1 byte to one far larger than a buffer, whole and through a reader
// that returns small chunks: every frame comes out once, in order, intact,
// and the end is clean.
func TestManyBuffers(t *testing.T) {
	const frames = 30000
	size := func(i int) int {
		if i == frames/2 {
			return 3 * bufSize // a frame larger than a buffer
		}
		return 1 + i*131%1600
	}
	pcap := pcapHeader(4 * bufSize) // the snaplen allows the large frame
	for i := 0; i < frames; i++ {
		pcap = appendRecord(pcap, uint32(i), bytes.Repeat([]byte{byte(i)}, size(i)))
	}
	for name, r := range map[string]func() io.Reader{
		"whole":  func() io.Reader { return bytes.NewReader(pcap) },
		"chunks": func() io.Reader { return &chunkReader{b: pcap} },
	} {
		t.Run(name, func(t *testing.T) {
			f, err := NewFile(r(), "big")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for i := 0; ; i++ {
				data, ci, err := f.ReadPacket()
				if err == io.EOF && i == frames {
					return
				}
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if ci.TS.Unix() != int64(i) || len(data) != size(i) || ci.CapLen != size(i) {
					t.Fatalf("frame %d: ts %d, %d bytes, caplen %d; want %d bytes", i, ci.TS.Unix(), len(data), ci.CapLen, size(i))
				}
				for k, c := range data {
					if c != byte(i) {
						t.Fatalf("frame %d: byte %d is %#x", i, k, c)
					}
				}
			}
		})
	}
}

// TestCloseWhileReading closes a file with frames still unread: the
// splitter stops instead of waiting for a reader that is gone.
func TestCloseWhileReading(t *testing.T) {
	pcap := pcapHeader(65535)
	for i := 0; i < 20000; i++ { // 20 MB: more than the buffers in flight
		pcap = appendRecord(pcap, uint32(i), make([]byte, 1000))
	}
	f, err := NewFile(bytes.NewReader(pcap), "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ReadPacket(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	select {
	case <-f.sp.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the splitter did not stop after Close")
	}
	if _, _, err := f.ReadPacket(); err != nil && err != io.EOF {
		t.Errorf("ReadPacket after Close: %v", err)
	}
}

// TestStatsAcrossFiles reads one pcapng twice through a Runner: the
// skipped-block counters of both files add up in --stats.
func TestStatsAcrossFiles(t *testing.T) {
	name := testenv.SharedPath(t, "pcap/pcapng-suite/le/difficult/test202.pcapng")
	stats := func(n int) string {
		h := dns.NewHandler(dns.Config{})
		r := &Runner{Decoder: decode.NewDecoder(h), DNS: h}
		var names []string
		for i := 0; i < n; i++ {
			names = append(names, name)
		}
		if err := r.RunFiles(names, nil, &Guard{}); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		r.WriteStats(&b, "x")
		return regexp.MustCompile(`pcapng blocks skipped \d+`).FindString(b.String())
	}
	one, two := stats(1), stats(2)
	var a, b int
	fmt.Sscanf(one, "pcapng blocks skipped %d", &a)
	fmt.Sscanf(two, "pcapng blocks skipped %d", &b)
	if a == 0 || b != 2*a {
		t.Errorf("one file: %q, two: %q", one, two)
	}
}
