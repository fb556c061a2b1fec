package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/netns"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

// TestLiveEqualsFile replays captures onto one end of a veth pair inside a
// network namespace the test creates, while nfr-capture listens on the
// other end, and checks that the live events equal those of nfr-capture -r
// on the same file, through AF_PACKET (one and two workers) and libpcap.
func TestLiveEqualsFile(t *testing.T) {
	capture := testenv.Bin(t, "nfr-capture")
	pcaps := []string{
		filepath.Join(testenv.Root(t), "testdata", "demo.pcap"),
		testenv.SharedPath(t, "zeek", "http-pipelining", "pipelined-requests.pcap"),
		testenv.SharedPath(t, "tcpdump", "dns_tcp", "dns_tcp.pcap"),
	}
	for _, mode := range []struct {
		name string
		args []string
	}{
		{"afpacket", []string{"--afpacket"}},
		{"afpacket-2-workers", []string{"--afpacket", "--workers", "2"}},
		{"libpcap", nil},
	} {
		t.Run(mode.name, func(t *testing.T) {
			ns := netns.New(t)
			ns.Veth(t, "nfr0", "nfr1", 9000)
			for _, pcap := range pcaps {
				want := canonical(t, run(t, capture, "-r", pcap))
				args := append([]string{capture, "--line-buffered", "--stats", "-i", "nfr1"}, mode.args...)
				cmd := ns.Command(args[0], args[1:]...)
				var out, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(1500 * time.Millisecond) // let it open the interface
				ns.Replay(t, "nfr0", pcap)
				time.Sleep(1500 * time.Millisecond) // let the last frames through
				cmd.Process.Signal(os.Interrupt)
				if err := cmd.Wait(); err != nil {
					t.Fatalf("nfr-capture %s: %v\n%s", strings.Join(mode.args, " "), err, stderr.String())
				}
				got := canonical(t, out.Bytes())
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s: live events differ from the file's:\n%s\nstderr:\n%s",
						filepath.Base(pcap), diffLines(want, got), stderr.String())
				}
				if !strings.Contains(stderr.String(), ", dropped 0") {
					t.Errorf("%s: the kernel dropped frames:\n%s", filepath.Base(pcap), stderr.String())
				}
			}
		})
	}
}

// canonical renders events without what replaying changes (timestamps,
// durations, the source name), sorted.
func canonical(t *testing.T, out []byte) []string {
	t.Helper()
	var lines []string
	for _, l := range bytes.Split(out, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var e event.Event
		if err := event.Unmarshal(l, &e); err != nil {
			t.Fatalf("bad event %s: %v", l, err)
		}
		e.TS, e.Duration, e.Source = time.Time{}, 0, ""
		e.ValidFrom, e.ValidTo = e.ValidFrom.UTC(), e.ValidTo.UTC()
		lines = append(lines, string(e.AppendJSON(nil)))
	}
	sort.Strings(lines)
	return lines
}

func diffLines(want, got []string) string {
	w := map[string]int{}
	for _, l := range want {
		w[l]++
	}
	var b strings.Builder
	for _, l := range got {
		if w[l] > 0 {
			w[l]--
			continue
		}
		b.WriteString("  live only: " + l + "\n")
	}
	var left []string
	for l, n := range w {
		for ; n > 0; n-- {
			left = append(left, l)
		}
	}
	sort.Strings(left)
	for _, l := range left {
		b.WriteString("  file only: " + l + "\n")
	}
	return b.String()
}
