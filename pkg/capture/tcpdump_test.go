package capture

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

type tcpdumpDNS struct {
	line               string
	ts                 time.Time
	src, dst           string
	sport, dport       string
	query              bool
	qtype, name, rcode string
	addrs              []string // A and AAAA answers shown
}

var (
	tdHead    = regexp.MustCompile(`^\s*\d+\s+(?:caplen \d+ len \d+ )?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) `)
	tdAddrs   = regexp.MustCompile(`([0-9a-fA-F:.]+)\.(\d+) > ([0-9a-fA-F:.]+)\.(\d+): (.*)$`)
	tdTCP     = regexp.MustCompile(`^Flags \[[^\]]*\].*?length \d+ ?`)
	tdSum     = regexp.MustCompile(`^\[(?:udp sum ok|bad udp cksum [^\]]*)\] `)
	tdQuery   = regexp.MustCompile(`^\d+\S* (?:\[[^\]]*\] )*(\S+)\? (\S+) `)
	tdResp    = regexp.MustCompile(`^\d+\S*(?: (\w+\S*))? (?:q: \S+\? \S+ )?\d+/\d+/\d+`)
	tdAnswers = regexp.MustCompile(`(?:^| )(A|AAAA) ([0-9a-fA-F:.]+?)(?:,| \(| ns:| ar:|$)`)
)

// tcpdump's rcode names (print-domain.c) in Zeek's spelling.
var tdRcodes = map[string]string{
	"FormErr": "FORMERR", "ServFail": "SERVFAIL", "NXDomain": "NXDOMAIN", "NotImp": "NOTIMP",
	"Refused": "REFUSED", "YXDomain": "YXDOMAIN", "YXRRSet": "YXRRSET", "NXRRSet": "NXRRSet",
	"NotAuth": "NOTAUTH", "NotZone": "NOTZONE", "BadVers": "BADVERS", "BadCookie": "BADCOOKIE",
}

func readTcpdump(t *testing.T, path string) []tcpdumpDNS {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if tdHead.MatchString(l) || len(lines) == 0 {
			lines = append(lines, l)
		} else {
			lines[len(lines)-1] += " " + strings.TrimSpace(l)
		}
	}
	var out []tcpdumpDNS
	for _, l := range lines {
		h := tdHead.FindStringSubmatch(l)
		a := tdAddrs.FindStringSubmatch(l)
		if h == nil || a == nil {
			continue
		}
		ts, err := time.Parse("2006-01-02 15:04:05.999999999", h[1])
		if err != nil {
			t.Fatal(err)
		}
		r := tcpdumpDNS{line: l, ts: ts, src: a[1], sport: a[2], dst: a[3], dport: a[4]}
		rest := tdSum.ReplaceAllString(tdTCP.ReplaceAllString(a[5], ""), "")
		if m := tdQuery.FindStringSubmatch(rest); m != nil && !tdResp.MatchString(rest) {
			r.query, r.qtype = true, m[1]
			r.name = strings.ToLower(strings.TrimSuffix(m[2], "."))
		} else if m := tdResp.FindStringSubmatch(rest); m != nil {
			r.rcode = "NOERROR"
			if rc, ok := tdRcodes[strings.TrimRight(m[1], "-*|$+")]; ok {
				r.rcode = rc
			}
			for _, x := range tdAnswers.FindAllStringSubmatch(rest, -1) {
				if !strings.Contains(rest[:strings.Index(rest, x[0])+1], " ns: ") && !strings.Contains(rest[:strings.Index(rest, x[0])+1], " ar: ") {
					r.addrs = append(r.addrs, x[2])
				}
			}
		} else {
			continue // TCP control segments and undecodable DNS
		}
		out = append(out, r)
	}
	return out
}

// TestTcpdumpDNS checks our events against tcpdump's own DNS decodes: every
// query tcpdump printed is an event with its time, endpoints, type and
// name; every response tcpdump printed completes an event with its rcode
// and the A/AAAA answers tcpdump shows.
func TestTcpdumpDNS(t *testing.T) {
	for _, c := range []struct {
		out, capture string
		ports        []uint16
	}{
		{"dns_udp/dns_udp.out", "dns_udp/dns_udp.pcap", nil},
		{"dns_udp_2/dns_udp_2.out", "dns_udp_2/dns_udp_2.pcap", nil},
		{"dns_tcp/dns_tcp.out", "dns_tcp/dns_tcp.pcap", nil},
		{"dns-badcookie/dns-badcookie.out", "dns-badcookie/dns-badcookie.pcap", nil},
		{"dns-badvers/dns-badvers.out", "dns-badvers/dns-badvers.pcap", nil},
		{"dns_udp_8053/dns_udp_8053-T.out", "dns_udp_8053/dns_udp_8053.pcap", []uint16{8053}},
	} {
		t.Run(c.capture, func(t *testing.T) {
			want := readTcpdump(t, testenv.SharedPath(t, "tcpdump", c.out))
			if len(want) == 0 {
				t.Fatal("no DNS lines read from tcpdump's output")
			}
			t.Logf("%d DNS lines in tcpdump's output", len(want))
			got := decodeFiles(t, false, time.Minute, c.ports, testenv.SharedPath(t, "tcpdump", c.capture))
			for _, w := range want {
				if !matchTcpdump(w, got) {
					t.Errorf("no event agrees with tcpdump's line\n  %s\n  parsed %+v\n  events: %s", w.line, w, eventsText(got))
				}
			}
		})
	}
}

func matchTcpdump(w tcpdumpDNS, got []event.Event) bool {
	for i := range got {
		e := &got[i]
		if w.query {
			if e.TS.Equal(w.ts) && e.SrcIP.String() == w.src && itoa(e.SrcPort) == w.sport &&
				e.DestIP.String() == w.dst && itoa(e.DestPort) == w.dport && e.QType == w.qtype && e.Query == w.name {
				return true
			}
			continue
		}
		if e.DestIP.String() != w.src || itoa(e.DestPort) != w.sport || e.SrcIP.String() != w.dst || itoa(e.SrcPort) != w.dport || e.RCode != w.rcode {
			continue
		}
		ok := true
		for _, a := range w.addrs {
			if !contains(e.Answers, a) {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func eventsText(evs []event.Event) string {
	var b strings.Builder
	for i := range evs {
		b.WriteString("\n    ")
		b.Write(evs[i].AppendJSON(nil))
	}
	return b.String()
}
