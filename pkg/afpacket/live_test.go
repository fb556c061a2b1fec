package afpacket_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket/pcap"

	"github.com/nfr-project/nfr/internal/netns"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/afpacket"
	"github.com/nfr-project/nfr/pkg/decode"
)

// Ethernet captures from the shared data, replayed onto a veth pair. The
// QinQ one checks that the VLAN tag the kernel strips on receive is put
// back with its 802.1ad TPID.
var replayCases = []struct {
	name, file string
}{
	{"dns-edns-ecs", "zeek/dns-ev-edns-ecs/dns-edns-ecs.pcap"},
	{"dns-type-filtering", "suricata/dns-eve-type-filtering/test.pcap"},
	{"mixed-tcp-tls-arp", "suricata/mixed-ethernet-eve/test.pcap"},
	{"qinq-802.1ad", "tcpdump/qinq_802.1ad/802.1ad_QinQ.pcap"},
}

// readFrames returns the frames of an Ethernet pcap as tcpreplay sends them.
func readFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	r, err := pcap.OpenOffline(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer r.Close()
	if r.LinkType() != 1 {
		t.Fatalf("%s: link type %v, want Ethernet", path, r.LinkType())
	}
	var frames [][]byte
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF || errors.Is(err, pcap.NextErrorNoMorePackets) {
			return frames
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if ci.CaptureLength != ci.Length {
			t.Fatalf("%s: frame %d is cut short (%d of %d bytes); replay needs whole frames", path, len(frames)+1, ci.CaptureLength, ci.Length)
		}
		frames = append(frames, bytes.Clone(data))
	}
}

// veth makes a namespace with the pair nfr0 (sender) <-> nfr1 (listener),
// big enough for the jumbo frames of offloaded captures.
func veth(t *testing.T) *netns.NS {
	t.Helper()
	ns := netns.New(t)
	ns.Veth(t, "nfr0", "nfr1", 65000)
	return ns
}

// The tests' rings: many small blocks. A block is handed over when full or
// after the block timeout (10 ms), so a ring of two blocks drops frames
// once its reader is kept off the CPU for 20 ms, which a loaded machine
// running tests in parallel does (TestAnyCooked lost a frame so); 32
// blocks take 320 ms.
const (
	testRing  = 8 << 20
	testBlock = 256 << 10
)

// open opens a capture inside the namespace.
func open(t *testing.T, ns *netns.NS, cfg afpacket.Config) *afpacket.Capture {
	t.Helper()
	var c *afpacket.Capture
	if err := ns.Do(func() (err error) {
		c, err = afpacket.Open(cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// capture replays each file onto its sender interface while c reads, and
// returns what arrived once n frames did.
func capture(t *testing.T, ns *netns.NS, c *afpacket.Capture, n int, replays ...string) *collector {
	t.Helper()
	col := collect(c)
	for i := 0; i < len(replays); i += 2 {
		ns.Replay(t, replays[i], replays[i+1])
	}
	waitFor(n, col.count)
	c.Close()
	col.wg.Wait()
	for _, err := range col.errs {
		t.Errorf("ReadPacket: %v", err)
	}
	if st := c.Stats(); st.Dropped > 0 {
		t.Logf("the kernel dropped %d frames: the ring filled while the reader was off the CPU", st.Dropped)
	}
	return col
}

// collector reads every source of a capture into copies of its frames.
type collector struct {
	mu     sync.Mutex
	frames [][]byte
	info   []decode.CaptureInfo
	errs   []error
	wg     sync.WaitGroup
}

func collect(c *afpacket.Capture) *collector {
	col := &collector{}
	for _, s := range c.Sources() {
		col.wg.Add(1)
		go func() {
			defer col.wg.Done()
			for {
				data, ci, err := s.ReadPacket()
				if err == io.EOF {
					return
				}
				col.mu.Lock()
				if err != nil {
					col.errs = append(col.errs, err)
					col.mu.Unlock()
					return
				}
				col.frames = append(col.frames, bytes.Clone(data))
				col.info = append(col.info, ci)
				col.mu.Unlock()
			}
		}()
	}
	return col
}

func (col *collector) count() int {
	col.mu.Lock()
	defer col.mu.Unlock()
	return len(col.frames)
}

// waitFor waits until n frames arrived; the deadline only guards against
// a hang, it is not a speed assertion.
func waitFor(n int, got func() int) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if got() >= n {
			// Linger briefly so a stray extra frame would be seen.
			time.Sleep(50 * time.Millisecond)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sameFrames compares frames; with ordered false as multisets (fanout
// workers interleave, each in order).
func sameFrames(t *testing.T, got, want [][]byte, ordered bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d frames, want %d", len(got), len(want))
	}
	if !ordered {
		got = sorted(got)
		want = sorted(want)
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("frame %d differs:\n got %d bytes %x\nwant %d bytes %x", i+1, len(got[i]), head(got[i]), len(want[i]), head(want[i]))
			return
		}
	}
}

func head(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

func sorted(fs [][]byte) [][]byte {
	out := append([][]byte(nil), fs...)
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i], out[j]) < 0 })
	return out
}

// TestReplayAFPacket replays reference captures onto a veth pair and checks
// that every frame arrives through the ring intact and that the kernel's
// counters agree, with one worker and with a fanout group of two.
func TestReplayAFPacket(t *testing.T) {
	for _, workers := range []int{1, 2} {
		for _, tc := range replayCases {
			t.Run(fmt.Sprintf("%s/workers=%d", tc.name, workers), func(t *testing.T) {
				file := testenv.SharedPath(t, tc.file)
				want := readFrames(t, file)
				ns := veth(t)
				c := open(t, ns, afpacket.Config{Interfaces: []string{"nfr1"}, Workers: workers, RingSize: testRing, BlockSize: testBlock})
				start := time.Now()
				col := capture(t, ns, c, len(want), "nfr0", file)
				end := time.Now()
				if workers > 1 {
					// The fanout group reassembles IPv4 fragments so that
					// they hash to one worker.
					want = defragment(t, want)
				}
				sameFrames(t, col.frames, want, workers == 1)
				for i, ci := range col.info {
					// Kernel receive time, between the test's start and end.
					inRun := !ci.TS.Before(start.Add(-time.Second)) && !ci.TS.After(end.Add(time.Second))
					if ci.LinkType != decode.LinkEthernet || ci.CapLen != len(col.frames[i]) || ci.WireLen != ci.CapLen || !inRun {
						t.Errorf("frame %d: capture info %+v for %d bytes", i+1, ci, len(col.frames[i]))
						break
					}
				}
				st := c.Stats()
				n := uint64(len(want))
				sent := uint64(len(readFrames(t, file)))
				if st.Received != n || st.Dropped != 0 || st.Delivered != n || st.Corrupt != 0 {
					t.Errorf("stats %+v, want %d received and delivered, none dropped", st, n)
				}
				if link := ns.Link(t, "nfr1"); link.RxPackets != sent {
					t.Errorf("nfr1 received %d frames by its own count, want %d", link.RxPackets, sent)
				}
				if workers > 1 {
					for i, s := range c.Sources() {
						t.Logf("worker %d: %+v", i, s.Stats())
					}
				}
			})
		}
	}
}

// TestReplayLibpcap is the same replay read through libpcap, for comparison:
// both paths must see the same frames.
func TestReplayLibpcap(t *testing.T) {
	for _, tc := range replayCases {
		t.Run(tc.name, func(t *testing.T) {
			file := testenv.SharedPath(t, tc.file)
			want := readFrames(t, file)
			ns := veth(t)
			var h *pcap.Handle
			err := ns.Do(func() error {
				in, err := pcap.NewInactiveHandle("nfr1")
				if err != nil {
					return err
				}
				defer in.CleanUp()
				in.SetSnapLen(262144)
				in.SetTimeout(20 * time.Millisecond)
				in.SetBufferSize(4 << 20)
				h, err = in.Activate()
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			var (
				mu  sync.Mutex
				got [][]byte
			)
			done := make(chan struct{})
			stop := make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					default:
					}
					data, _, err := h.ReadPacketData()
					if errors.Is(err, pcap.NextErrorTimeoutExpired) {
						continue
					}
					if err != nil {
						t.Errorf("libpcap: %v", err)
						return
					}
					mu.Lock()
					got = append(got, bytes.Clone(data))
					mu.Unlock()
				}
			}()
			ns.Replay(t, "nfr0", file)
			waitFor(len(want), func() int {
				mu.Lock()
				defer mu.Unlock()
				return len(got)
			})
			close(stop)
			<-done
			sameFrames(t, got, want, true)
			st, err := h.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if st.PacketsDropped != 0 || st.PacketsIfDropped != 0 {
				t.Errorf("libpcap stats %+v, want no drops", st)
			}
		})
	}
}

// defragment returns frames as a fanout group with PACKET_FANOUT_FLAG_DEFRAG
// delivers them: IPv4 fragments replaced by the datagram the kernel
// reassembles from them (header of the first fragment, total length set,
// fragment offset and MF cleared, header checksum recomputed).
func defragment(t *testing.T, frames [][]byte) [][]byte {
	t.Helper()
	type key struct {
		src, dst [4]byte
		id       uint16
		proto    byte
	}
	type part struct {
		off  int
		more bool
		data []byte
	}
	var out [][]byte
	pending := map[key][]part{}
	heads := map[key][]byte{}
	for _, f := range frames {
		if len(f) < 34 || f[12] != 0x08 || f[13] != 0 {
			out = append(out, f)
			continue
		}
		ip := f[14:]
		ihl := int(ip[0]&0x0f) * 4
		fo := binary.BigEndian.Uint16(ip[6:])
		more, off := fo&0x2000 != 0, int(fo&0x1fff)*8
		if !more && off == 0 {
			out = append(out, f)
			continue
		}
		var k key
		copy(k.src[:], ip[12:16])
		copy(k.dst[:], ip[16:20])
		k.id = binary.BigEndian.Uint16(ip[4:])
		k.proto = ip[9]
		total := int(binary.BigEndian.Uint16(ip[2:]))
		pending[k] = append(pending[k], part{off, more, ip[ihl:total]})
		if off == 0 {
			heads[k] = f[:14+ihl]
		}
		parts := pending[k]
		sort.Slice(parts, func(i, j int) bool { return parts[i].off < parts[j].off })
		end, done := 0, false
		for _, p := range parts {
			if p.off != end {
				break
			}
			end += len(p.data)
			done = !p.more
		}
		if !done || heads[k] == nil {
			continue
		}
		d := bytes.Clone(heads[k])
		for _, p := range parts {
			d = append(d, p.data...)
		}
		h := d[14 : 14+ihl]
		binary.BigEndian.PutUint16(h[2:], uint16(len(d)-14))
		binary.BigEndian.PutUint16(h[6:], 0)
		binary.BigEndian.PutUint16(h[10:], 0)
		var sum uint32
		for i := 0; i < len(h); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(h[i:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
		out = append(out, d)
		delete(pending, k)
		delete(heads, k)
	}
	if len(pending) > 0 {
		t.Fatalf("defragment: %d datagrams incomplete in the capture", len(pending))
	}
	return out
}

// TestCloseDrains checks that frames captured before Close still reach the
// reader, then io.EOF, and that later calls keep returning io.EOF.
func TestCloseDrains(t *testing.T) {
	file := testenv.SharedPath(t, replayCases[0].file)
	want := readFrames(t, file)
	ns := veth(t)
	c := open(t, ns, afpacket.Config{Interfaces: []string{"nfr1"}, RingSize: testRing, BlockSize: testBlock})
	ns.Replay(t, "nfr0", file)
	s := c.Sources()[0]
	var got [][]byte
	data, _, err := s.ReadPacket()
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, bytes.Clone(data))
	c.Close() // with a frame in the reader's hands: drain, then EOF
	for {
		data, _, err := s.ReadPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, bytes.Clone(data))
	}
	sameFrames(t, got, want, true)
	if _, _, err := s.ReadPacket(); err != io.EOF {
		t.Errorf("ReadPacket after the end: %v, want io.EOF", err)
	}
	if st := c.Stats(); st.Delivered != uint64(len(want)) || st.Received != uint64(len(want)) {
		t.Errorf("stats after Close %+v, want %d", st, len(want))
	}
}

// TestSeveralInterfaces reads two veth pairs through one capture and checks
// that each frame is tagged with its interface.
func TestSeveralInterfaces(t *testing.T) {
	fileA := testenv.SharedPath(t, replayCases[0].file)
	fileB := testenv.SharedPath(t, replayCases[1].file)
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			wantA, wantB := readFrames(t, fileA), readFrames(t, fileB)
			if workers > 1 {
				wantA, wantB = defragment(t, wantA), defragment(t, wantB)
			}
			ns := veth(t)
			ns.Veth(t, "nfr2", "nfr3", 65000)
			c := open(t, ns, afpacket.Config{Interfaces: []string{"nfr1", "nfr3"}, Workers: workers, RingSize: testRing, BlockSize: testBlock})
			col := capture(t, ns, c, len(wantA)+len(wantB), "nfr0", fileA, "nfr2", fileB)
			var gotA, gotB [][]byte
			for i, ci := range col.info {
				switch ci.IfIndex {
				case 0:
					gotA = append(gotA, col.frames[i])
				case 1:
					gotB = append(gotB, col.frames[i])
				default:
					t.Fatalf("frame %d from interface %d", i+1, ci.IfIndex)
				}
			}
			sameFrames(t, gotA, wantA, workers == 1)
			sameFrames(t, gotB, wantB, workers == 1)
			if c.Interface(1) != "nfr3" {
				t.Errorf("Interface(1) = %q, want nfr3", c.Interface(1))
			}
			ifs := c.InterfaceStats()
			if len(ifs) != 2 || ifs[0].Interface != "nfr1" || ifs[0].Delivered != uint64(len(wantA)) || ifs[1].Delivered != uint64(len(wantB)) {
				t.Errorf("interface stats %+v", ifs)
			}
		})
	}
}

// TestFilter runs a tcpdump expression in the kernel: only DNS responses
// from port 53 come through, cut to the snaplen.
func TestFilter(t *testing.T) {
	file := testenv.SharedPath(t, replayCases[0].file)
	all := readFrames(t, file)
	var want [][]byte
	for _, f := range all {
		// UDP from port 53 over IPv4 (first fragments only) or IPv6
		// (no extension headers); the capture has no IPv4 options.
		v4 := len(f) >= 42 && f[12] == 0x08 && f[13] == 0 && f[23] == 17 && binary.BigEndian.Uint16(f[20:])&0x1fff == 0 && binary.BigEndian.Uint16(f[34:]) == 53
		v6 := len(f) >= 62 && f[12] == 0x86 && f[13] == 0xdd && f[20] == 17 && binary.BigEndian.Uint16(f[54:]) == 53
		if v4 || v6 {
			want = append(want, head(f))
		}
	}
	ns := veth(t)
	c := open(t, ns, afpacket.Config{Interfaces: []string{"nfr1"}, Filter: "udp src port 53", Snaplen: 64, RingSize: testRing, BlockSize: testBlock})
	col := capture(t, ns, c, len(want), "nfr0", file)
	sameFrames(t, col.frames, want, true)
	for i, ci := range col.info {
		if ci.CapLen > 64 || ci.WireLen < ci.CapLen {
			t.Errorf("frame %d: caplen %d wirelen %d with snaplen 64", i+1, ci.CapLen, ci.WireLen)
		}
	}
	if _, err := afpacket.Compile("udp port", 1, 100); err == nil {
		t.Error("a bad filter compiled")
	}
}

// TestAnyCooked captures on "any": frames come from a SOCK_DGRAM socket
// behind a Linux cooked v2 header, once leaving nfr0 and once reaching nfr1.
func TestAnyCooked(t *testing.T) {
	file := testenv.SharedPath(t, replayCases[0].file)
	sent := readFrames(t, file)
	ns := veth(t)
	c := open(t, ns, afpacket.Config{Interfaces: []string{"any"}, RingSize: testRing, BlockSize: testBlock})
	if lt := c.LinkType(0); lt != decode.LinkSLL2 {
		t.Fatalf("link type %d, want SLL2", lt)
	}
	col := capture(t, ns, c, 2*len(sent), "nfr0", file)
	// Compare as ethertype + source MAC + network layer.
	var want, got [][]byte
	for _, f := range sent {
		key := append(append(bytes.Clone(f[12:14]), f[6:12]...), f[14:]...)
		want = append(want, key, key)
	}
	outgoing := 0
	for i, f := range col.frames {
		if len(f) < 20 || binary.BigEndian.Uint16(f[8:]) != 1 || f[11] != 6 || col.info[i].LinkType != decode.LinkSLL2 {
			t.Fatalf("frame %d: bad SLL2 header %x", i+1, head(f))
		}
		if f[10] == 4 { // PACKET_OUTGOING
			outgoing++
		}
		got = append(got, append(append(bytes.Clone(f[0:2]), f[12:18]...), f[20:]...))
	}
	sameFrames(t, got, want, false)
	if outgoing != len(sent) {
		t.Errorf("%d frames marked outgoing, want %d", outgoing, len(sent))
	}
}

// TestQuiet checks the read timeout on an idle link, and that Close with
// no frame in a reader's hands ends everything at once.
func TestQuiet(t *testing.T) {
	ns := veth(t)
	c := open(t, ns, afpacket.Config{Interfaces: []string{"nfr1"}, RingSize: testRing, BlockSize: testBlock, ReadTimeout: 20 * time.Millisecond})
	s := c.Sources()[0]
	_, _, err := s.ReadPacket()
	if !errors.Is(err, afpacket.ErrTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadPacket on a quiet link: %v, want ErrTimeout", err)
	}
	c.Close()
	if _, _, err := s.ReadPacket(); err != io.EOF {
		t.Fatalf("ReadPacket after Close: %v, want io.EOF", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ns := veth(t)
	tests := []struct {
		name string
		cfg  afpacket.Config
		want string
	}{
		{"no interface", afpacket.Config{}, "no interface"},
		{"unknown interface", afpacket.Config{Interfaces: []string{"nfr-nosuch"}}, "nfr-nosuch: no such interface"},
		{"second interface unknown", afpacket.Config{Interfaces: []string{"nfr1", "nfr-nosuch"}, Workers: 2}, "nfr-nosuch"},
		{"block not page-sized", afpacket.Config{Interfaces: []string{"nfr1"}, BlockSize: 5000}, "page size"},
		{"ring of one block", afpacket.Config{Interfaces: []string{"nfr1"}, RingSize: 1 << 20, BlockSize: 1 << 20}, "fewer than two blocks"},
		{"bad filter", afpacket.Config{Interfaces: []string{"nfr1"}, Filter: "port"}, `filter "port"`},
		{"link filter on any", afpacket.Config{Interfaces: []string{"any"}, Filter: "ether host 00:11:22:33:44:55"}, "filter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ns.Do(func() error {
				c, err := afpacket.Open(tc.cfg)
				if err == nil {
					c.Close()
				}
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	for _, name := range []string{"hash", "lb", "cpu", "qm", "nope"} {
		if _, err := afpacket.ParseFanout(name); (err != nil) != (name == "nope") {
			t.Errorf("ParseFanout(%q): %v", name, err)
		}
	}
}

// TestLinkDown checks that a reader blocked on an interface that goes down
// gets an error naming it rather than waiting for ever.
func TestLinkDown(t *testing.T) {
	ns := veth(t)
	c := open(t, ns, afpacket.Config{Interfaces: []string{"nfr1"}, RingSize: testRing, BlockSize: testBlock})
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.Sources()[0].ReadPacket()
		errc <- err
	}()
	ns.Must(t, "ip", "link", "set", "nfr1", "down")
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "nfr1") || !errors.Is(err, syscall.ENETDOWN) {
			t.Fatalf("ReadPacket on a link gone down: %v, want ENETDOWN naming nfr1", err)
		}
	case <-time.After(10 * time.Second):
		c.Close()
		t.Fatal("ReadPacket still blocked after the link went down")
	}
}

// TestPromisc checks that promiscuous mode lasts as long as the capture.
func TestPromisc(t *testing.T) {
	ns := veth(t)
	promiscuity := func() string {
		out := ns.Must(t, "ip", "-d", "link", "show", "nfr1")
		i := strings.Index(out, "promiscuity ")
		if i < 0 {
			t.Fatalf("no promiscuity in %q", out)
		}
		return strings.Fields(out[i:])[1]
	}
	c := open(t, ns, afpacket.Config{Interfaces: []string{"nfr1"}, Promisc: true, Workers: 2, RingSize: testRing, BlockSize: testBlock})
	if p := promiscuity(); p != "2" {
		t.Errorf("promiscuity %s with two workers capturing, want 2", p)
	}
	c.Close()
	if p := promiscuity(); p != "0" {
		t.Errorf("promiscuity %s after Close, want 0", p)
	}
}
