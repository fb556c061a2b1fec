package capture

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The fixture is 200 packets written by scripts/gendns (queries and
// responses, IPv4 and IPv6, A, AAAA, MX, TXT, HTTPS, CNAME chains,
// NXDOMAIN, unanswered), plain and gzip-compressed. It stands alone:
// no shared data needed.
const fixture = "testdata/gendns-200.pcap"

func goldenEvents(t *testing.T, path string) []byte {
	evs := decodeFiles(t, false, 5*time.Second, nil, path)
	var b []byte
	for i := range evs {
		evs[i].Source = "gendns-200.pcap"
		b = evs[i].AppendJSON(b)
		b = append(b, '\n')
	}
	return b
}

func TestGolden(t *testing.T) {
	got := goldenEvents(t, fixture)
	const golden = "testdata/gendns-200.golden.jsonl"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("events differ from %s (run go test -update after checking why)", golden)
	}
	if gz := goldenEvents(t, fixture+".gz"); !bytes.Equal(gz, got) {
		t.Error("the gzip-compressed fixture gives other events")
	}
}

// TestGoldenTshark holds the fixture's events to tshark's decode of the
// same file: every response tshark reads has an event with its query,
// rcode and A/AAAA answers.
func TestGoldenTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed: the comparison with tshark cannot run (scripts/setup.sh installs it)")
	}
	out, err := exec.Command("tshark", "-r", fixture, "-Y", "dns.flags.response == 1", "-T", "fields",
		"-E", "separator=|", "-e", "dns.qry.name", "-e", "dns.flags.rcode", "-e", "dns.a", "-e", "dns.aaaa").Output()
	if err != nil {
		t.Fatal(err)
	}
	evs := decodeFiles(t, false, 5*time.Second, nil, fixture)
	rcodes := map[string]string{"0": "NOERROR", "3": "NXDOMAIN"}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 4 {
			continue
		}
		n++
		var addrs []string
		for _, x := range []string{f[2], f[3]} {
			if x != "" {
				addrs = append(addrs, strings.Split(x, ",")...)
			}
		}
		if !tsharkMatch(evs, f[0], rcodes[f[1]], addrs) {
			t.Errorf("no event for tshark's response %q", line)
		}
	}
	if n < 90 {
		t.Errorf("tshark read only %d responses", n)
	}
}

func tsharkMatch(evs []event.Event, query, rcode string, addrs []string) bool {
	for i := range evs {
		e := &evs[i]
		if e.Query != query || e.RCode != rcode {
			continue
		}
		ok := true
		for _, a := range addrs {
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
