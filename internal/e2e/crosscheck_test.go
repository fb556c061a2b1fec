package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

// crossDiffs are the Zeek cases where nfr-capture on the trace and
// nfr-parse-bro on Zeek's dns.log are known not to agree, and why. Each
// names the fields left out of the comparison; the rest still must agree.
var crossDiffs = map[string]struct {
	skip   []string
	reason string
}{
	"dns-binds":          {[]string{"qtype"}, "Zeek logs unknown type 65534 as query-65534 and nfr-parse-bro keeps Zeek's text; nfr-capture writes TYPE65534 (RFC 3597)"},
	"dns-dynamic-update": {[]string{"query", "answers", "qtype"}, "Zeek logs an UPDATE under the updated name with pre:/del:/add: pseudo-answers; nfr-capture gives the zone and plain rdata"},
	"dns-notify":         {[]string{"query"}, "Zeek logs a NOTIFY with an empty query; nfr-capture gives the zone it names"},
}

// TestZeekLogMatchesCapture checks the promise of issue 4: a Zeek dns.log
// read by nfr-parse-bro gives the same events as nfr-capture on the trace
// Zeek made it from.
func TestZeekLogMatchesCapture(t *testing.T) {
	capture := testenv.Bin(t, "nfr-capture")
	parse := testenv.Bin(t, "nfr-parse-bro")
	dirs, _ := filepath.Glob(testenv.SharedPath(t, "zeek", "*"))
	compared := 0
	for _, dir := range dirs {
		log := filepath.Join(dir, "legacy-zeek-3.3.0-dev", "dns.log")
		if _, err := os.Stat(log); err != nil {
			log = filepath.Join(dir, "dns.log")
		}
		traces, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
		if _, err := os.Stat(log); err != nil || len(traces) != 1 {
			continue
		}
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			skip := map[string]bool{}
			if d, ok := crossDiffs[name]; ok {
				for _, f := range d.skip {
					skip[f] = true
				}
				t.Logf("fields %v not compared: %s", d.skip, d.reason)
			}
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("XXXXXXXXXX.XXXXXX")) {
				// btest masked the first timestamp of every line of the
				// 9.x baseline; put a real one back and compare without ts.
				skip["ts"] = true
				log = filepath.Join(t.TempDir(), "dns.log")
				os.WriteFile(log, bytes.ReplaceAll(b, []byte("XXXXXXXXXX.XXXXXX"), []byte("0.000000")), 0o644)
			}
			fromLog := events(t, run(t, parse, log))
			// Zeek pairs a reply with its query for as long as the UDP
			// connection lives (1 min idle); nfr-capture's default is the
			// 5 s issue 2 asks for, which pairs dns-ipv6-fragmented's late
			// reply with the retransmitted query instead.
			fromTrace := events(t, run(t, capture, "--types", "dns", "--dns-timeout", "1m", "--dns-port", "5353,137", "-r", traces[0]))
			if len(fromLog) == 0 {
				t.Skip("dns.log has no records") // nothing to compare, said aloud
			}
			if d := match(fromLog, fromTrace, skip); d != "" {
				t.Errorf("nfr-parse-bro %s and nfr-capture on %s differ:\n%s", log, filepath.Base(traces[0]), d)
			}
		})
		compared++
	}
	if compared < 20 {
		t.Errorf("only %d Zeek cases with a trace and a dns.log found; the shared data looks incomplete", compared)
	}
}

func run(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func events(t *testing.T, out []byte) []event.Event {
	t.Helper()
	var evs []event.Event
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, event.MaxLine)
	for sc.Scan() {
		var e event.Event
		if err := event.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("bad event %s: %v", sc.Bytes(), err)
		}
		if e.Type == event.TypeDNS {
			evs = append(evs, e)
		}
	}
	return evs
}

// key renders the compared fields of e. A dns.log record without qtype is
// a reply Zeek did not pair with its query: its ts is the reply's and its
// question is not logged, so neither is compared for it.
func key(e *event.Event, skip map[string]bool, unpaired bool) string {
	f := []struct{ k, v string }{
		{"ts", e.TS.Format("15:04:05.000000")},
		{"src", fmt.Sprintf("%s:%d", e.SrcIP, e.SrcPort)},
		{"dst", fmt.Sprintf("%s:%d", e.DestIP, e.DestPort)},
		{"proto", e.Proto},
		{"query", e.Query},
		{"qtype", e.QType},
		{"rcode", e.RCode},
		{"answers", strings.Join(e.Answers, ",")},
	}
	var parts []string
	for _, x := range f {
		if skip[x.k] || (unpaired && (x.k == "ts" || x.k == "qtype")) {
			continue
		}
		parts = append(parts, x.k+"="+x.v)
	}
	return strings.Join(parts, " ")
}

// match pairs every dns.log event with one capture event and describes
// what is left on either side.
func match(fromLog, fromTrace []event.Event, skip map[string]bool) string {
	used := make([]bool, len(fromTrace))
	var s strings.Builder
	for i := range fromLog {
		unpaired := fromLog[i].QType == ""
		k := key(&fromLog[i], skip, unpaired)
		found := false
		for j := range fromTrace {
			if !used[j] && key(&fromTrace[j], skip, unpaired) == k {
				used[j], found = true, true
				break
			}
		}
		if !found {
			fmt.Fprintf(&s, "  only in dns.log: %s\n", k)
		}
	}
	var left []string
	for j, u := range used {
		if !u {
			left = append(left, key(&fromTrace[j], skip, false))
		}
	}
	sort.Strings(left)
	for _, k := range left {
		fmt.Fprintf(&s, "  only in capture: %s\n", k)
	}
	return s.String()
}
