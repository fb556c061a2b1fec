package communityid

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/nfr-project/nfr/pkg/event"
)

// The default-seed baseline of the Community ID specification
// (corelight/community-id-spec, baseline/baseline_deflt.json). For ICMP the
// ports given are the message's type and code as the baseline lists them.
var baseline = []struct {
	proto        uint8
	saddr, daddr string
	sport, dport uint16
	want         string
}{
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 135, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, "1:zavyT/cezQr1fmImYCwYnMXbgck="},
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 135, "1:zavyT/cezQr1fmImYCwYnMXbgck="},
	{58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ="},
	{58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0="},
	{58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="},
	{58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="},
	{58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0="},
	{58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00="},
	{1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
	{1, "192.168.0.1", "192.168.0.89", 0, 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
	{1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM="},
	{6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
	{6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
	{132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
	{132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
	{6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
	{6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
	{17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
	{17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
	{46, "10.1.12.1", "10.1.12.2", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="},
	{46, "10.1.12.2", "10.1.12.1", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="},
}

func TestBaseline(t *testing.T) {
	for _, v := range baseline {
		got := Hash(netip.MustParseAddr(v.saddr), netip.MustParseAddr(v.daddr), v.proto, v.sport, v.dport)
		if got != v.want {
			t.Errorf("%d %s:%d > %s:%d: got %s, want %s", v.proto, v.saddr, v.sport, v.daddr, v.dport, got, v.want)
		}
	}
}

func TestInvalid(t *testing.T) {
	if got := Hash(netip.Addr{}, netip.MustParseAddr("10.0.0.1"), 6, 1, 2); got != "" {
		t.Errorf("invalid address: %q", got)
	}
	if got := Hash(netip.MustParseAddr("::ffff:10.0.0.1"), netip.MustParseAddr("10.0.0.2"), 6, 1, 2); got != Hash(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), 6, 1, 2) {
		t.Errorf("a v4-mapped address hashes as its IPv4 form")
	}
}

func BenchmarkAppend(b *testing.B) {
	s, d := netip.MustParseAddr("192.168.1.52"), netip.MustParseAddr("8.8.8.8")
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = Append(buf[:0], 0, s, d, 17, uint16(i), 53)
	}
}

// baselineEvent is a baseline case as an event, its protocol named as
// nfr-capture names it.
func baselineEvent(i int) *event.Event {
	v := baseline[i]
	e := &event.Event{SrcIP: netip.MustParseAddr(v.saddr), DestIP: netip.MustParseAddr(v.daddr), SrcPort: v.sport, DestPort: v.dport}
	switch v.proto {
	case 6:
		e.Proto = "tcp"
	case 17:
		e.Proto = "udp"
	case 1, 58:
		e.Proto = "icmp"
		if v.proto == 58 {
			e.Proto = "icmp6"
		}
		it, ic := uint8(v.sport), uint8(v.dport)
		e.ICMPType, e.ICMPCode, e.SrcPort, e.DestPort = &it, &ic, 0, 0
	default:
		e.Proto = strconv.Itoa(int(v.proto))
	}
	return e
}

// A Stamper stamps what Stamp does, and keeps an ID already there.
func TestStamper(t *testing.T) {
	var st Stamper
	for i, v := range baseline {
		e := baselineEvent(i)
		st.Stamp(e)
		if e.CommunityID != v.want {
			t.Errorf("%d %s:%d > %s:%d: got %s, want %s", v.proto, v.saddr, v.sport, v.daddr, v.dport, e.CommunityID, v.want)
		}
		e2 := baselineEvent(i)
		Stamp(e2)
		if e2.CommunityID != e.CommunityID {
			t.Errorf("case %d: Stamp %s, Stamper %s", i, e2.CommunityID, e.CommunityID)
		}
		st.Stamp(e)
		if e.CommunityID != v.want {
			t.Errorf("case %d: restamped to %s", i, e.CommunityID)
		}
	}
	e := &event.Event{Proto: "tcp", SrcIP: netip.MustParseAddr("10.0.0.1")}
	if st.Stamp(e); e.CommunityID != "" {
		t.Errorf("no destination: stamped %s", e.CommunityID)
	}
}

// BenchmarkStamper is the encoding goroutine's share: one ID per event.
func BenchmarkStamper(b *testing.B) {
	var st Stamper
	e := baselineEvent(19) // udp
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.CommunityID, e.SrcPort = "", uint16(i)
		st.Stamp(e)
	}
}
