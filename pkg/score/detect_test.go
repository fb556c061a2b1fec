package score

import (
	"fmt"
	"math/rand"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/scripts/genthreats/traffic"
)

// TestNoFalsePositives holds streams that look odd but are benign, each
// with the threat it must not raise.
func TestNoFalsePositives(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	rnd := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[r.Intn(36)]
		}
		return string(b)
	}
	src := netip.MustParseAddr("10.0.0.7")
	dns := func(i int, q, qtype string) event.Event {
		return event.Event{Type: event.TypeDNS, TS: traffic.Start.Add(time.Duration(i) * time.Second), SrcIP: src,
			DestIP: netip.MustParseAddr("10.0.0.2"), DestPort: 53, Proto: "udp", Query: q, QType: qtype, RCode: "NOERROR"}
	}
	flow := func(i int, dst string, port uint16) event.Event {
		return event.Event{Type: event.TypeIP, TS: traffic.Start.Add(time.Duration(i) * time.Second), SrcIP: src,
			DestIP: netip.MustParseAddr(dst), DestPort: port, Proto: "tcp", BytesOut: 900, BytesIn: 4000, PktsOut: 8, PktsIn: 9, ConnState: "SF"}
	}
	tests := []struct {
		name   string
		threat string
		events func() []event.Event
	}{
		{"youtube edge hosts", "dns_tunnel", func() (evs []event.Event) {
			for i := 0; i < 60; i++ {
				evs = append(evs, dns(i, fmt.Sprintf("rr%d---sn-%s.googlevideo.com", i%5+1, rnd(8)), "A"))
			}
			return
		}},
		{"reverse lookups of IPv6 addresses", "dns_tunnel", func() (evs []event.Event) {
			for i := 0; i < 60; i++ {
				q := ""
				for _, c := range rnd(32) {
					q += string(c%16+'a') + "."
				}
				evs = append(evs, dns(i, q+"ip6.arpa", "PTR"))
			}
			return
		}},
		{"DNSBL lookups of a mail server", "dns_tunnel", func() (evs []event.Event) {
			for i := 0; i < 60; i++ {
				evs = append(evs, dns(i, fmt.Sprintf("%d.%d.%d.%d.zen.spamhaus.org", r.Intn(256), r.Intn(256), r.Intn(256), r.Intn(256)), "A"))
			}
			return
		}},
		{"ordinary names of many sites", "dga", func() (evs []event.Event) {
			for i, n := range []string{"wikipedia.org", "stackoverflow.com", "microsoft.com", "duckduckgo.com", "kubernetes.io",
				"cloudflare.com", "mozilla.org", "debian.org", "ubuntu.com", "github.io", "bbc.co.uk", "spiegel.de"} {
				evs = append(evs, dns(i, "www."+n, "A"))
			}
			return
		}},
		{"a game server on tcp/7777", "cryptomining", func() (evs []event.Event) {
			return []event.Event{flow(0, "198.51.100.50", 7777)}
		}},
		{"pool.ntp.org", "cryptomining", func() (evs []event.Event) {
			return []event.Event{dns(0, "0.pool.ntp.org", "A")}
		}},
		{"the brands' own domains", "imposter", func() (evs []event.Event) {
			for i, n := range []string{"www.paypal.com", "login.microsoftonline.com", "appleid.apple.com", "accounts.google.com",
				"www.amazon.co.uk", "github.githubassets.com", "www.googleapis.com", "secure.chase.com"} {
				evs = append(evs, dns(i, n, "A"))
			}
			return
		}},
		{"a web server's varied connections", "beacon", func() (evs []event.Event) {
			for i := 0; i < 40; i++ {
				e := flow(i*int(1+r.Intn(90)), "198.51.100.60", 443)
				e.BytesOut = int64(500 + r.Intn(5000))
				evs = append(evs, e)
			}
			return
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := tt.events()
			for _, a := range run(t, DefaultConfig(), evs) {
				if _, ok := a.Threats[tt.threat]; ok {
					t.Errorf("raised %s: %s", tt.threat, a.Reason)
				}
			}
		})
	}
}

// TestTorBootstrap: a Tor client's first SYNs go to the fallback directory
// mirrors compiled into it; they alert even when none is answered.
func TestTorBootstrap(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []event.Event
	for i, a := range []string{"185.220.101.28", "95.217.112.243", "2a0b:f4c2::28"} {
		evs = append(evs, event.Event{Type: event.TypeIP, TS: t0.Add(time.Duration(i) * time.Second), SrcIP: netip.MustParseAddr("10.0.0.7"),
			DestIP: netip.MustParseAddr(a), DestPort: 443, Proto: "tcp", ConnState: "S0", PktsOut: 2})
	}
	alerts := run(t, DefaultConfig(), evs)
	if n := count(alerts, "tor"); n != 2 || alerts[0].Count != 1 || !strings.Contains(alerts[0].Reason, "fallback directory mirror") {
		t.Fatalf("%d tor alerts (want the first and its update): %v", n, alerts)
	}
	if alerts[len(alerts)-1].Count != 3 {
		t.Errorf("the incident folds %d attempts, want 3", alerts[len(alerts)-1].Count)
	}
}
