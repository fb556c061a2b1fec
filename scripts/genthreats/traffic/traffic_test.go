package traffic

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

func play(names ...string) *Gen {
	var ss []Scenario
	for _, n := range names {
		s, _ := Find(n)
		ss = append(ss, s)
	}
	g := New(1)
	g.Play(ss)
	return g
}

// TestDemoIsReproducible: testdata/demo.pcap is what the generator makes.
func TestDemoIsReproducible(t *testing.T) {
	var b bytes.Buffer
	if err := play(Demo...).WritePcap(&b); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(testenv.Root(t), "testdata", "demo.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("testdata/demo.pcap differs from the generator's output; run: go run ./scripts/genthreats -scenario demo -o testdata/demo.pcap")
	}
	if len(want) > 300<<10 {
		t.Errorf("demo.pcap is %d bytes, over 300 KB", len(want))
	}
}

// TestPcapAgreesWithEvents decodes the generated capture with tshark (an
// independent decoder) and checks it holds the DNS questions, TLS server
// names and HTTP hosts that the events say.
func TestPcapAgreesWithEvents(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Fatalf("tshark is needed (scripts/setup.sh installs it): %v", err)
	}
	g := play("benign", "dga", "dns-tunnel", "telegram-bot", "doh", "spambot", "scan", "icmp-tunnel", "ssh-transfer")
	dir := t.TempDir()
	pcap := filepath.Join(dir, "t.pcap")
	f, _ := os.Create(pcap)
	if err := g.WritePcap(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fields := func(filter, field string) []string {
		out, err := exec.Command("tshark", "-r", pcap, "-Y", filter, "-T", "fields", "-e", field).Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		return sorted(strings.Fields(string(out)))
	}
	var queries, snis, hosts []string
	var icmp, s0 int
	for _, e := range g.Events() {
		switch e.Type {
		case event.TypeDNS:
			queries = append(queries, e.Query)
		case event.TypeTLS:
			snis = append(snis, e.SNI)
		case event.TypeHTTP:
			hosts = append(hosts, e.Host)
		case event.TypeIP:
			if e.Proto == "icmp" {
				icmp += int(e.PktsOut)
			}
			if e.ConnState == "S0" {
				s0++
			}
		}
	}
	for _, c := range []struct {
		what      string
		got, want []string
	}{
		{"DNS questions", fields("dns.flags.response == 0", "dns.qry.name"), sorted(queries)},
		{"TLS server names", fields("tls.handshake.type == 1", "tls.handshake.extensions_server_name"), sorted(snis)},
		{"HTTP hosts", fields("http.request", "http.host"), sorted(hosts)},
	} {
		if strings.Join(c.got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: tshark %d, events %d\n tshark %v\n events %v", c.what, len(c.got), len(c.want), head(c.got), head(c.want))
		}
	}
	if n := len(fields("icmp.type == 8", "icmp.seq")); n != icmp {
		t.Errorf("tshark sees %d echo requests, events say %d", n, icmp)
	}
	if n := len(fields("tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.analysis.retransmission", "tcp.stream")); n != s0 {
		t.Errorf("tshark sees %d retransmitted SYNs, events %d unanswered connections", n, s0)
	}
	up := fields("tcp.dstport == 22 && tcp.len > 0", "tcp.len")
	total := 0
	for _, s := range up {
		var n int
		for _, c := range s {
			n = n*10 + int(c-'0')
		}
		total += n
	}
	if total != 60<<20 {
		t.Errorf("tshark counts %d bytes to tcp/22, want %d", total, 60<<20)
	}
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

func head(s []string) []string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}
