package capture

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/pcaptest"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/communityid"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/service"
)

// flowsOf runs files through the real decoder and the flow table and
// returns the ip events.
func flowsOf(t *testing.T, verify bool, files ...string) []event.Event {
	return eventsOf(t, []string{event.TypeIP}, verify, files...)
}

// eventsOf runs files through the real decoder and the analysers of types.
func eventsOf(t *testing.T, types []string, verify bool, files ...string) []event.Event {
	t.Helper()
	var evs []event.Event
	a, err := NewAnalysers(types, Options{Emit: func(e *event.Event) {
		evs = append(evs, *e)
	}})
	if err != nil {
		t.Fatal(err)
	}
	d := decode.NewDecoder(a.Handlers...)
	d.VerifyChecksums = verify
	runFiles(t, &Runner{Decoder: d}, files)
	return evs
}

// zeekScript is the script directory that holds the analyser of one of our
// service names, to tell what a bare-mode (-b) Zeek run could see.
func zeekScript(s string) string {
	switch s {
	case "krb_tcp":
		return "krb"
	case "ldap_tcp", "ldap_udp":
		return "ldap"
	}
	return s
}

var ours = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range service.Names() {
		m[n] = true
	}
	return m
}()

// serviceDiffs are the Zeek cases whose service column we do not match in
// full, and why. Every other case must match every record.
var serviceDiffs = map[string]string{
	"ssh-websocket-wstunnel":   "ssh inside WebSocket frames (http, then websocket, then ssh): we do not unwrap WebSocket, so we give http only",
	"service-ldap-sasl-krb":    "krb inside LDAP's SASL GSSAPI bind: we do not look into LDAP bind credentials, so we give ldap_tcp only",
	"dns-conn-count-too-large": "Zeek ran with dns_max_queries=3; the query has 10 questions, its DNS analyser raises a violation and drops dns; to us it is a well-formed DNS message",
}

// outside are the names in Zeek's service columns that are not among ours,
// and why we do not give them; the comparison leaves them out and the test
// logs each occurrence.
var outside = map[string]string{
	"-ftp":         "a service removed after a violation (failed-service-logging); we record no violations",
	"ftp-data":     "Zeek names FTP data connections from the PORT/PASV replies of the control connection; we look at each connection alone",
	"gridftp":      "Zeek's GridFTP heuristic over FTP with GSI/TLS (sizes and timing)",
	"gridftp-data": "Zeek's GridFTP data-channel heuristic",
	"irc-dcc-data": "Zeek names DCC SEND transfers from the IRC control connection",
	"gssapi":       "the SASL/GSSAPI layer inside LDAP",
	"modbus":       "not one of the twenty services",
	"dce_rpc":      "not one of the twenty services",
	"redis":        "not one of the twenty services",
	"rdpeudp":      "RDP over UDP, not one of the twenty services",
	"syslog_tcp":   "not one of the twenty services",
	"xmpp":         "not one of the twenty services",
	"websocket":    "not one of the twenty services",
	"vxlan":        "a tunnel's outer flow: the tunnel field, not service",
	"geneve":       "a tunnel's outer flow: the tunnel field, not service",
}

var bareFlag = regexp.MustCompile(`zeek\s+(-\w*b|.*\s-\w*b)`)

func TestZeekService(t *testing.T) {
	root := testenv.SharedPath(t, "zeek")
	meta := loadZeekMeta(t)
	logs, _ := filepath.Glob(filepath.Join(root, "*", "conn*.log*"))
	cases, agree, total := 0, 0, 0
	for _, log := range logs {
		dir := filepath.Dir(log)
		name := filepath.Base(dir)
		m, ok := meta[name]
		if !ok || len(m.Traces) == 0 {
			continue
		}
		recs := pcaptest.ZeekLog(t, log)
		if len(recs) == 0 {
			continue
		}
		if _, ok := recs[0]["service"]; !ok {
			continue
		}
		files := traceFor(dir, filepath.Base(log), m)
		cases++
		t.Run(name+"/"+filepath.Base(log), func(t *testing.T) {
			exec := ""
			for _, e := range m.Execs {
				if strings.Contains(e, "zeek ") {
					exec = e
					break
				}
			}
			bare := bareFlag.MatchString(exec)
			loaded := map[string]bool{}
			for _, l := range append(m.Loads, strings.Fields(exec)...) {
				loaded[filepath.Base(strings.TrimSuffix(l, ".zeek"))] = true
			}
			if loaded["websocket"] {
				loaded["http"] = true // the WebSocket analyser loads HTTP's
			}
			evs := flowsOf(t, !zeekNoChecksums.MatchString(exec), files...)
			// What Zeek could name: our services, only the loaded ones in
			// bare mode.
			keep := func(s string) string {
				var out []string
				for _, x := range strings.Split(s, ",") {
					if x == "" || x == "-" || !ours[x] || bare && !loaded[zeekScript(x)] {
						continue
					}
					out = append(out, x)
				}
				return strings.Join(out, ",")
			}
			for _, r := range recs {
				for _, x := range strings.Split(r["service"], ",") {
					if x != "" && x != "-" && !ours[x] {
						why, ok := outside[x]
						if !ok {
							t.Errorf("Zeek service %q is neither ours nor listed in outside", x)
						}
						t.Logf("not compared: %s (%s)", x, why)
					}
				}
			}
			diffs, matched := compareService(recs, evs, keep)
			agree += matched
			total += len(recs)
			pcaptest.Report(t, serviceDiffs[name], matched, len(recs), diffs)
		})
	}
	t.Logf("service: %d of %d conn.log records agree over %d logs", agree, total, cases)
	if cases < 30 {
		t.Fatalf("only %d conn.log files with a service column under %s", cases, root)
	}
}

// traceFor picks the capture a log came from: the one trace, or, for cases
// with a log per trace, the trace whose name the log's carries.
func traceFor(dir, log string, m zeekMeta) []string {
	var files []string
	for _, tr := range m.Traces {
		files = append(files, filepath.Join(dir, tr.File))
	}
	if len(files) > 1 && strings.HasPrefix(log, "conn-") {
		stem := strings.TrimSuffix(strings.TrimPrefix(log, "conn-"), ".log")
		for _, f := range files {
			if strings.HasPrefix(filepath.Base(f), stem) {
				return []string{f}
			}
		}
	}
	return files
}

// compareService matches conn.log records to flows by endpoints (either
// orientation) and compares the service column; logs cut down to a uid
// are compared as a multiset.
func compareService(recs []pcaptest.Record, evs []event.Event, keep func(string) string) (diffs []string, matched int) {
	byKey := map[string][]*event.Event{}
	for i := range evs {
		e := &evs[i]
		if e.Proto != "tcp" && e.Proto != "udp" {
			continue
		}
		a := fmt.Sprintf("%s %d %s %d", e.SrcIP, e.SrcPort, e.DestIP, e.DestPort)
		byKey[a] = append(byKey[a], e)
	}
	if recs[0]["id.orig_h"] == "" || recs[0]["id.resp_p"] == "" || recs[0]["id.orig_p"] == "" {
		var want, got []string
		for _, r := range recs {
			want = append(want, keep(r["service"]))
		}
		for i := range evs {
			if evs[i].Proto == "tcp" || evs[i].Proto == "udp" {
				got = append(got, keep(evs[i].Service))
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		for i, w := range want {
			if i < len(got) && got[i] == w {
				matched++
			}
		}
		if matched != len(want) {
			diffs = append(diffs, fmt.Sprintf("services %q, want %q", got, want))
		}
		return diffs, matched
	}
	for _, r := range recs {
		if r["proto"] != "" && r["proto"] != "tcp" && r["proto"] != "udp" {
			matched++ // no service on ICMP
			continue
		}
		k := fmt.Sprintf("%s %s %s %s", r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"])
		list := byKey[k]
		if len(list) == 0 {
			k2 := fmt.Sprintf("%s %s %s %s", r["id.resp_h"], r["id.resp_p"], r["id.orig_h"], r["id.orig_p"])
			if list = byKey[k2]; len(list) > 0 {
				k = k2
			}
		}
		want := keep(r["service"])
		if len(list) == 0 {
			if want == "" {
				matched++ // a flow we do not see has no service either way
			} else {
				diffs = append(diffs, fmt.Sprintf("%s %s: no flow, want service %q", k, r["proto"], want))
			}
			continue
		}
		e := list[0]
		byKey[k] = list[1:]
		if got := keep(e.Service); got != want {
			diffs = append(diffs, fmt.Sprintf("%s %s: service %q, want %q (Zeek %q)", k, r["proto"], got, want, r["service"]))
			continue
		}
		matched++
	}
	return diffs, matched
}

// TestSuricataCommunityID compares the communityId of ip and tls events
// with the community_id Suricata's checks name (IPv6, TLS 1.3). The test
// ran Suricata with community-id-seed 7: the events carry the seed-0 ID,
// and their tuple hashed with seed 7 must give Suricata's.
func TestSuricataCommunityID(t *testing.T) {
	dir := testenv.SharedPath(t, "suricata", "tls-community-id-ipv6")
	checks := pcaptest.SuricataChecks(t, dir, "flow", "tls")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
	evs := eventsOf(t, []string{event.TypeIP, event.TypeTLS}, false, files...)
	n := 0
	for _, c := range checks {
		want, _ := c.Match["community_id"].(string)
		if want == "" {
			continue
		}
		typ := map[string]string{"flow": event.TypeIP, "tls": event.TypeTLS}[c.Match["event_type"].(string)]
		found := 0
		for i := range evs {
			e := &evs[i]
			if e.Type == typ && float64(e.SrcPort) == c.Match["src_port"] && float64(e.DestPort) == c.Match["dest_port"] {
				found++
				seeded := string(communityid.Append(nil, 7, e.SrcIP, e.DestIP, 6, e.SrcPort, e.DestPort))
				if seeded != want || e.CommunityID != communityid.Hash(e.SrcIP, e.DestIP, 6, e.SrcPort, e.DestPort) {
					t.Errorf("%s %d>%d: communityId %s (seed 7: %s), want %s with seed 7", typ, e.SrcPort, e.DestPort, e.CommunityID, seeded, want)
				}
			}
		}
		if found != 1 {
			t.Errorf("%d %s events for %v", found, typ, c.Match)
		}
		n++
	}
	if n != 4 {
		t.Fatalf("%d checks with a community_id, want 4", n)
	}
}

// TestCommunityIDPerEvent: every event gets the ID of its own connection,
// also from analysers that reuse one event (the DNS handler does).
func TestCommunityIDPerEvent(t *testing.T) {
	evs := eventsOf(t, DefaultTypes(), false, testenv.SharedPath(t, "zeek", "dns-ev-edns-ecs", "dns-edns-ecs.pcap"))
	n := 0
	for _, e := range evs {
		proto := map[string]uint8{"tcp": 6, "udp": 17}[e.Proto]
		if proto == 0 {
			continue
		}
		if want := communityid.Hash(e.SrcIP, e.DestIP, proto, e.SrcPort, e.DestPort); e.CommunityID != want {
			t.Errorf("%s %s:%d > %s:%d: communityId %s, want %s", e.Type, e.SrcIP, e.SrcPort, e.DestIP, e.DestPort, e.CommunityID, want)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d events", n)
	}
}
