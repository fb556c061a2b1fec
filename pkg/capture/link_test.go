package capture

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/pcaptest"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

// TestZeekLinkTypes runs the captures of the link types issue 11 added
// (802.11 behind radiotap, 802.11 monitor mode, NFLOG, 802.2 LLC/SNAP) and
// of tunnels (whose outer UDP flows Zeek logs too) through the real decoder
// and compares the flows with Zeek's conn.log (endpoints, service, packets
// and IP bytes each way; ICMP by addresses) and the requests with its
// http.log (method, host, uri, status).
func TestZeekLinkTypes(t *testing.T) {
	for _, name := range []string{"conn-radiotap", "conn-wlanmon", "nflog-http", "snap-tcp-http",
		"tunnel-vxlan", "tunnel-geneve-vxlan-dns-truncated", "tunnel-gre-over-udp", "tunnel-gre-sample", "tunnel-gre-pptp-dns"} {
		t.Run(name, func(t *testing.T) {
			dir := testenv.SharedPath(t, "zeek", name)
			files, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
			evs := eventsOf(t, []string{event.TypeIP, event.TypeHTTP, event.TypeDNS}, false, files...)
			var diffs []string
			total, matched := 0, 0
			if l := filepath.Join(dir, "conn.log"); fileExists(l) {
				for _, r := range pcaptest.ZeekLog(t, l) {
					total++
					op, rp := r["id.orig_p"], r["id.resp_p"]
					if r["proto"] == "icmp" {
						op, rp = "0", "0" // Zeek writes type and code there
					}
					want := fmt.Sprintf("%s %s %s %s %s service=%s pkts=%s/%s bytes=%s/%s", r["id.orig_h"], op, r["id.resp_h"], rp, r["proto"],
						r["service"], r["orig_pkts"], r["resp_pkts"], r["orig_ip_bytes"], r["resp_ip_bytes"])
					found := false
					var got []string
					for _, e := range evs {
						if e.Type != event.TypeIP {
							continue
						}
						svc := e.Service
						if svc == "" {
							svc = "-"
						}
						proto := e.Proto
						if proto == "icmp6" {
							proto = "icmp"
						}
						g := fmt.Sprintf("%s %d %s %d %s service=%s pkts=%d/%d bytes=%d/%d", e.SrcIP, e.SrcPort, e.DestIP, e.DestPort, proto, svc, e.PktsOut, e.PktsIn, e.BytesOut, e.BytesIn)
						got = append(got, g)
						found = found || g == want
					}
					if !found {
						diffs = append(diffs, fmt.Sprintf("conn.log %s not among %q", want, got))
						continue
					}
					matched++
				}
			}
			if l := filepath.Join(dir, "http.log"); fileExists(l) {
				for _, r := range pcaptest.ZeekLog(t, l) {
					total++
					want := fmt.Sprintf("%s %s %s http://%s%s %s", r["id.orig_h"], r["id.resp_h"], r["method"], r["host"], r["uri"], r["status_code"])
					found := false
					var got []string
					for _, e := range evs {
						if e.Type != event.TypeHTTP {
							continue
						}
						status := "-"
						if e.Status > 0 {
							status = fmt.Sprint(e.Status)
						}
						g := fmt.Sprintf("%s %s %s %s %s", e.SrcIP, e.DestIP, e.Method, e.URL, status)
						got = append(got, g)
						found = found || g == want
					}
					if !found {
						diffs = append(diffs, fmt.Sprintf("http.log %s not among %q", want, got))
						continue
					}
					matched++
				}
			}
			if total == 0 {
				t.Fatal("no reference records")
			}
			// Flows inside a UDP-carried tunnel name their outer flow.
			outer := map[string]string{}
			for _, e := range evs {
				if e.Type == event.TypeIP && e.Tunnel != "" {
					outer[e.CommunityID] = e.Tunnel
				}
			}
			for _, e := range evs {
				if e.TunnelParent != "" && len(outer) > 0 && outer[e.TunnelParent] == "" {
					diffs = append(diffs, fmt.Sprintf("%s %s %d > %s %d: tunnelParent %s is no outer flow", e.Type, e.SrcIP, e.SrcPort, e.DestIP, e.DestPort, e.TunnelParent))
				}
				if (e.Type == event.TypeHTTP || e.Type == event.TypeDNS) && strings.HasPrefix(name, "tunnel-") && e.TunnelParent == "" {
					diffs = append(diffs, fmt.Sprintf("%s %s > %s inside a tunnel without tunnelParent", e.Type, e.SrcIP, e.DestIP))
				}
			}
			pcaptest.Report(t, "", matched, total, diffs)
		})
	}
}
