package score

import (
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// Edge tests of the detectors: each behaviour just at its threshold
// alerts, just below does not, and at the edges of the variant space each
// detector's comment claims (pace, jitter, sizes, spread) it still does.

var (
	edgeT0  = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	edgeSrc = netip.MustParseAddr("10.1.0.5")
)

func edgeFlow(at time.Duration, dst string, port uint16, state string, out, in int64) event.Event {
	return event.Event{Type: event.TypeIP, TS: edgeT0.Add(at), SrcIP: edgeSrc, SrcPort: 50000, DestIP: netip.MustParseAddr(dst),
		DestPort: port, Proto: "tcp", ConnState: state, BytesOut: out, BytesIn: in, PktsOut: 5, PktsIn: 5}
}

// edgeEcho is an ICMP echo request of size bytes.
func edgeEcho(at time.Duration, size int64) event.Event {
	typ := uint8(8)
	return event.Event{Type: event.TypeIP, TS: edgeT0.Add(at), SrcIP: edgeSrc, DestIP: netip.MustParseAddr("203.0.113.30"),
		Proto: "icmp", ICMPType: &typ, BytesOut: size, PktsOut: 1}
}

func withService(e event.Event, s string) event.Event {
	e.Service = s
	return e
}

func edgeDNS(at time.Duration, q string, answers ...string) event.Event {
	return event.Event{Type: event.TypeDNS, TS: edgeT0.Add(at), SrcIP: edgeSrc, DestIP: netip.MustParseAddr("10.1.0.1"),
		DestPort: 53, Proto: "udp", Query: q, QType: "A", RCode: "NOERROR", Answers: answers}
}

func incidents(alerts []*event.Event, id string) int {
	n := 0
	for _, a := range alerts {
		if _, ok := a.Threats[id]; ok && a.Count == 1 {
			n++
		}
	}
	return n
}

func TestDetectorEdges(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	jitter := func(d time.Duration, frac float64) time.Duration {
		return d + time.Duration((r.Float64()*2-1)*frac*float64(d))
	}
	// periodic returns n connection times every d with jitter frac.
	periodic := func(n int, d time.Duration, frac float64) []time.Duration {
		var ts []time.Duration
		at := time.Duration(0)
		for i := 0; i < n; i++ {
			ts = append(ts, at)
			at += jitter(d, frac)
		}
		return ts
	}
	connects := func(ts []time.Duration, proxyHost string) (evs []event.Event) {
		for _, at := range ts {
			evs = append(evs, event.Event{Type: event.TypeHTTP, TS: edgeT0.Add(at), SrcIP: edgeSrc, DestIP: netip.MustParseAddr("10.1.0.9"),
				DestPort: 3128, Proto: "tcp", Method: "CONNECT", Host: proxyHost, URL: proxyHost + ":443"})
		}
		return
	}
	flows := func(ts []time.Duration, dst string, port uint16, proto string, size int64, sizeFrac float64) (evs []event.Event) {
		for _, at := range ts {
			e := edgeFlow(at, dst, port, "SF", size+int64((r.Float64()*2-1)*sizeFrac*float64(size)), 300)
			e.Proto = proto
			evs = append(evs, e)
		}
		return
	}
	many := func(n int, f func(i int) event.Event) (evs []event.Event) {
		for i := 0; i < n; i++ {
			evs = append(evs, f(i))
		}
		return
	}
	lookups := func(n int) []event.Event {
		return many(n, func(i int) event.Event {
			return edgeDNS(time.Duration(i)*time.Second, fmt.Sprintf("site%d.example.com", i), "93.184.216.34")
		})
	}
	tests := []struct {
		name   string
		threat string
		want   bool
		events []event.Event
	}{
		// beacon: the variant space of beacon.go
		{"beacon, 10 s, perfect", ThreatBeacon, true, flows(periodic(40, 10*time.Second, 0), "198.51.100.7", 443, "tcp", 800, 0)},
		{"beacon, 60 s, 50% jitter, sizes ±50%", ThreatBeacon, true, flows(periodic(40, time.Minute, 0.5), "198.51.100.7", 443, "tcp", 800, 0.5)},
		{"beacon, 1 h, 20% jitter, over 2 days", ThreatBeacon, true, flows(periodic(40, time.Hour, 0.2), "198.51.100.7", 443, "tcp", 800, 0)},
		{"beacon over UDP, 30 s", ThreatBeacon, true, flows(periodic(30, 30*time.Second, 0.1), "198.51.100.7", 4500, "udp", 120, 0)},
		{"beacon through a proxy by name, 5 min, 20% jitter", ThreatBeacon, true, connects(periodic(30, 5*time.Minute, 0.2), "c2.example.net")},
		{"random visits (Poisson, mean 60 s)", ThreatBeacon, false, func() []event.Event {
			var ts []time.Duration
			at := time.Duration(0)
			for i := 0; i < 60; i++ {
				ts = append(ts, at)
				at += time.Duration(r.ExpFloat64() * float64(time.Minute))
			}
			return flows(ts, "198.51.100.7", 443, "tcp", 800, 0.9)
		}()},
		{"nine beacons only", ThreatBeacon, false, flows(periodic(9, time.Minute, 0), "198.51.100.7", 443, "tcp", 800, 0)},
		{"faster than 10 s", ThreatBeacon, false, flows(periodic(60, 5*time.Second, 0), "198.51.100.7", 443, "tcp", 800, 0)},

		// strobe
		{"200 refused in 8 min", ThreatStrobe, true, many(200, func(i int) event.Event {
			return edgeFlow(time.Duration(i)*2400*time.Millisecond, "66.63.168.35", 5888, "REJ", 0, 0)
		})},
		{"199 refused", ThreatStrobe, false, many(199, func(i int) event.Event {
			return edgeFlow(time.Duration(i)*time.Second, "66.63.168.35", 5888, "REJ", 0, 0)
		})},
		{"a dead server retried once a minute", ThreatStrobe, false, many(180, func(i int) event.Event {
			return edgeFlow(time.Duration(i)*time.Minute, "66.63.168.35", 5888, "S0", 0, 0)
		})},
		// The windows slide: a burst straddling what would be the edge of
		// a tumbling window (opened by the first attempt) is seen whole.
		{"300 refused straddling the hour", ThreatStrobe, true, append(
			[]event.Event{edgeFlow(0, "66.63.168.35", 5888, "REJ", 0, 0), edgeFlow(time.Second, "66.63.168.35", 5888, "REJ", 0, 0)},
			many(300, func(i int) event.Event {
				return edgeFlow(55*time.Minute+time.Duration(i)*2*time.Second, "66.63.168.35", 5888, "REJ", 0, 0)
			})...)},
		{"199 refused, twice, 65 min apart", ThreatStrobe, false, many(398, func(i int) event.Event {
			return edgeFlow(time.Duration(i%199)*time.Second+time.Duration(i/199)*65*time.Minute, "66.63.168.35", 5888, "REJ", 0, 0)
		})},
		{"200 refused, one every 19 s", ThreatStrobe, false, many(200, func(i int) event.Event {
			return edgeFlow(time.Duration(i)*19*time.Second, "66.63.168.35", 5888, "REJ", 0, 0)
		})},

		// icmp_tunnel: Window (5 min) slides as the strobe's hour does
		{"ICMP tunnel, 10 large echoes straddling 5 min", ThreatICMPTunnel, true, append(
			[]event.Event{edgeEcho(0, 1000)}, many(10, func(i int) event.Event {
				return edgeEcho(4*time.Minute+time.Duration(i)*15*time.Second, 1000)
			})...)},
		{"9 large echoes, twice, 6 min apart", ThreatICMPTunnel, false, many(18, func(i int) event.Event {
			return edgeEcho(time.Duration(i%9)*10*time.Second+time.Duration(i/9)*6*time.Minute, 1000)
		})},
		{"a large echo every 40 s for an hour", ThreatICMPTunnel, false, many(90, func(i int) event.Event {
			return edgeEcho(time.Duration(i)*40*time.Second, 1000)
		})},
		{"10 pings of ordinary size", ThreatICMPTunnel, false, many(10, func(i int) event.Event {
			return edgeEcho(time.Duration(i)*time.Second, 64)
		})},

		// spam: SpamWindow (1 h) slides
		{"SMTP sessions with 6 servers straddling the hour", ThreatSpam, true, many(6, func(i int) event.Event {
			at := []time.Duration{0, 58 * time.Minute, 59 * time.Minute, 61 * time.Minute, 62 * time.Minute, 63 * time.Minute}[i]
			return edgeFlow(at, fmt.Sprintf("198.51.100.%d", 20+i), 25, "SF", 4000, 1000)
		})},
		{"SMTP sessions with 4 servers, twice, 65 min apart", ThreatSpam, false, many(8, func(i int) event.Event {
			return edgeFlow(time.Duration(i%4)*time.Minute+time.Duration(i/4)*65*time.Minute, fmt.Sprintf("198.51.100.%d", 20+i), 25, "SF", 4000, 1000)
		})},
		{"an SMTP session with a new server every 16 min", ThreatSpam, false, many(20, func(i int) event.Event {
			return edgeFlow(time.Duration(i)*16*time.Minute, fmt.Sprintf("198.51.100.%d", 20+i), 25, "SF", 4000, 1000)
		})},

		// c2_direct
		{"TLS without SNI to a never-resolved address", ThreatDirect, true, append(lookups(10), many(10, func(i int) event.Event {
			return event.Event{Type: event.TypeTLS, TS: edgeT0.Add(time.Minute + time.Duration(i)*70*time.Second), SrcIP: edgeSrc,
				DestIP: netip.MustParseAddr("135.148.121.246"), DestPort: 8080, Proto: "tcp"}
		})...)},
		{"TLS without SNI to a resolved address", ThreatDirect, false, append(append(lookups(10), edgeDNS(30*time.Second, "api.example.org", "135.148.121.246")), many(10, func(i int) event.Event {
			return event.Event{Type: event.TypeTLS, TS: edgeT0.Add(time.Minute + time.Duration(i)*70*time.Second), SrcIP: edgeSrc,
				DestIP: netip.MustParseAddr("135.148.121.246"), DestPort: 8080, Proto: "tcp"}
		})...)},
		{"a host that never uses DNS", ThreatDirect, false, many(20, func(i int) event.Event {
			return event.Event{Type: event.TypeTLS, TS: edgeT0.Add(time.Duration(i) * time.Minute), SrcIP: edgeSrc,
				DestIP: netip.MustParseAddr("135.148.121.246"), DestPort: 8080, Proto: "tcp"}
		})},

		// uploads
		{"10 MiB over SSH", ThreatExfilSSH, true, []event.Event{edgeFlow(0, "203.0.113.9", 22, "SF", 10<<20, 40<<10)}},
		{"9 MiB over SSH", ThreatExfilSSH, false, []event.Event{edgeFlow(0, "203.0.113.9", 22, "SF", 9<<20, 40<<10)}},
		{"10 MiB over SSH on tcp/465 (service ssh by content)", ThreatExfilSSH, true, []event.Event{withService(edgeFlow(0, "203.0.113.9", 465, "SF", 10<<20, 40<<10), "ssh")}},
		{"10 MiB of TLS on tcp/465 (service ssl)", ThreatExfilSSH, false, []event.Event{withService(edgeFlow(0, "203.0.113.9", 465, "SF", 10<<20, 40<<10), "ssl")}},
		{"SSH on tcp/465", ThreatSSHPort, true, []event.Event{withService(edgeFlow(0, "203.0.113.9", 465, "SF", 4<<10, 4<<10), "ssh")}},
		{"SSH on tcp/22", ThreatSSHPort, false, []event.Event{withService(edgeFlow(0, "203.0.113.9", 22, "SF", 4<<10, 4<<10), "ssh")}},
		{"TLS on tcp/465", ThreatSSHPort, false, []event.Event{withService(edgeFlow(0, "203.0.113.9", 465, "SF", 4<<10, 4<<10), "ssl")}},
		{"SSH on tcp/8022 inside the network", ThreatSSHPort, false, []event.Event{withService(edgeFlow(0, "10.1.0.9", 8022, "SF", 4<<10, 4<<10), "ssh")}},
		{"500 MB in chunks over a day to 20 addresses of one domain", ThreatExfilUpload, true, func() (evs []event.Event) {
			for i := 0; i < 20; i++ {
				a := fmt.Sprintf("203.0.113.%d", 100+i)
				at := time.Duration(i) * 70 * time.Minute
				evs = append(evs, edgeDNS(at, fmt.Sprintf("n%d.files.example-drop.com", i), a), edgeFlow(at+time.Second, a, 443, "SF", 25<<20, 200<<10))
			}
			return
		}()},
		{"500 MB in chunks over a day to 20 addresses of names with no registered domain", ThreatExfilUpload, false, func() (evs []event.Event) {
			// .lan names and bare public suffixes have no registered
			// domain: their addresses are not one domain's.
			for i := 0; i < 20; i++ {
				a := fmt.Sprintf("203.0.113.%d", 100+i)
				at := time.Duration(i) * 70 * time.Minute
				q := fmt.Sprintf("drop%d.lan", i)
				if i%2 == 1 {
					q = "co.uk"
				}
				evs = append(evs, edgeDNS(at, q, a), edgeFlow(at+time.Second, a, 443, "SF", 25<<20, 200<<10))
			}
			return
		}()},
		{"a nightly backup to S3", ThreatExfilUpload, false, []event.Event{
			edgeDNS(0, "backups.s3.amazonaws.com", "52.216.1.10"), edgeFlow(time.Second, "52.216.1.10", 443, "SF", 800<<20, 2<<20)}},
		{"a nightly backup to S3 is a policy alert", ThreatCloudUpload, true, []event.Event{
			edgeDNS(0, "backups.s3.amazonaws.com", "52.216.1.10"), edgeFlow(time.Second, "52.216.1.10", 443, "SF", 800<<20, 2<<20)}},

		// long connections, lateral movement, probing, DNS
		{"a 61-minute connection", ThreatLongConn, true, func() []event.Event {
			e := edgeFlow(0, "203.0.113.20", 8443, "SF", 1<<20, 1<<20)
			e.Duration = 3660
			return []event.Event{e}
		}()},
		{"a 59-minute connection", ThreatLongConn, false, func() []event.Event {
			e := edgeFlow(0, "203.0.113.20", 8443, "SF", 1<<20, 1<<20)
			e.Duration = 3540
			return []event.Event{e}
		}()},
		{"SMB sessions with 10 internal hosts over 50 min", ThreatLateral, true, many(10, func(i int) event.Event {
			return edgeFlow(time.Duration(i)*5*time.Minute, fmt.Sprintf("10.1.2.%d", i+10), 445, "SF", 3000, 3000)
		})},
		{"SMB sessions with 9 internal hosts", ThreatLateral, false, many(9, func(i int) event.Event {
			return edgeFlow(time.Duration(i)*time.Minute, fmt.Sprintf("10.1.2.%d", i+10), 445, "SF", 3000, 3000)
		})},
		{"TLS handshakes with 10 ports of one host", ThreatProbe, true, many(10, func(i int) event.Event {
			return event.Event{Type: event.TypeTLS, TS: edgeT0.Add(time.Duration(i) * time.Minute), SrcIP: edgeSrc,
				DestIP: netip.MustParseAddr("10.1.3.3"), DestPort: uint16(8000 + i), Proto: "tcp", SNI: "intranet.example"}
		})},
		{"TLS to 60 external sites", ThreatProbe, false, many(60, func(i int) event.Event {
			return event.Event{Type: event.TypeTLS, TS: edgeT0.Add(time.Duration(i) * time.Second), SrcIP: edgeSrc,
				DestIP: netip.MustParseAddr(fmt.Sprintf("198.18.0.%d", i+1)), DestPort: 443, Proto: "tcp", SNI: fmt.Sprintf("site%d.example.com", i)}
		})},
		{"version.bind", ThreatDNSProbe, true, []event.Event{edgeDNS(0, "version.bind")}},
		{"a host bypassing the local resolver", ThreatDNSExternal, true, func() []event.Event {
			e := edgeDNS(time.Second, "example.com")
			e.DestIP = netip.MustParseAddr("8.8.8.8")
			return []event.Event{edgeDNS(0, "example.org"), e}
		}()},
		{"outside resolvers on a network without its own", ThreatDNSExternal, false, func() []event.Event {
			e := edgeDNS(time.Second, "example.com")
			e.DestIP = netip.MustParseAddr("8.8.8.8")
			return []event.Event{e}
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alerts := run(t, DefaultConfig(), tt.events)
			n := incidents(alerts, tt.threat)
			if (n > 0) != tt.want {
				var got []string
				for _, a := range alerts {
					got = append(got, ids(a)+": "+a.Reason)
				}
				t.Errorf("%d %s incidents, want alert %v; alerts %q", n, tt.threat, tt.want, got)
			}
		})
	}
}

// TestRareFingerprint: after an hour of history, a JA4 or user agent new
// to the network flags the alerts its event raises, and alerts nothing
// alone; one many hosts have used for hours does not flag.
func TestRareFingerprint(t *testing.T) {
	var evs []event.Event
	for i := 0; i < 8; i++ { // an hour of ordinary TLS from 8 hosts, one JA4
		e := event.Event{Type: event.TypeTLS, TS: edgeT0.Add(time.Duration(i) * 10 * time.Minute), SrcIP: netip.MustParseAddr(fmt.Sprintf("10.1.0.%d", 20+i)),
			DestIP: netip.MustParseAddr("198.18.0.1"), DestPort: 443, Proto: "tcp", SNI: "www.example.com", JA4: "t13d1516h2_8daaf6152771_e5627efa2ab1"}
		evs = append(evs, e)
	}
	oast := func(ja4 string, at time.Duration) event.Event {
		return event.Event{Type: event.TypeTLS, TS: edgeT0.Add(at), SrcIP: edgeSrc, DestIP: netip.MustParseAddr("198.18.0.9"),
			DestPort: 443, Proto: "tcp", SNI: "x.oast.fun", JA4: ja4}
	}
	evs = append(evs, oast("t13d1516h2_8daaf6152771_e5627efa2ab1", 90*time.Minute), oast("t10d070600_c50f5591e341_1a3805c3aa63", 100*time.Minute))
	alerts := run(t, DefaultConfig(), evs)
	if len(alerts) < 1 {
		t.Fatal("no alerts")
	}
	var flagged []bool
	for _, a := range alerts {
		has := false
		for _, f := range a.Flags {
			has = has || f == "rare_ja4"
		}
		flagged = append(flagged, has)
	}
	// The first alert is the common JA4's, the update the rare one's.
	if flagged[0] || !flagged[len(flagged)-1] {
		t.Errorf("rare_ja4 on alerts %v: %v", flagged, alerts)
	}
	for _, a := range alerts {
		if _, ok := a.Threats["oast"]; !ok {
			t.Errorf("an alert other than oast: %s", a.Reason)
		}
	}
	// The flag raises the alert's severity, not the threat's.
	first, last := alerts[0], alerts[len(alerts)-1]
	if first.Severity != 4 || last.Severity != 5 || last.Threats["oast"].Severity != 4 {
		t.Errorf("severities %d then %d (threat %d), want 4 then 5 (threat 4)", first.Severity, last.Severity, last.Threats["oast"].Severity)
	}
	// Not a policy threat's: DoH from the rare client stays at 2.
	doh := oast("t10d070600_c50f5591e341_1a3805c3aa63", 110*time.Minute)
	doh.SNI, doh.DestIP = "dns.google", netip.MustParseAddr("8.8.8.8")
	dohs := 0
	for _, a := range run(t, DefaultConfig(), append(evs, doh)) {
		if _, ok := a.Threats[ThreatDoH]; ok {
			dohs++
			if a.Severity != 2 || !slices.Contains(a.Flags, "rare_ja4") {
				t.Errorf("doh alert severity %d flags %v, want 2 with rare_ja4", a.Severity, a.Flags)
			}
		}
	}
	if dohs != 1 {
		t.Errorf("%d doh alerts, want 1", dohs)
	}
}
