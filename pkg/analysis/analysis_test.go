package analysis

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/pcaptest"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The golden files hold our output on reference captures. They guard
// against regressions; agreement with Zeek, Suricata and FoxIO is checked
// field by field in each analyser's package.
var goldenCases = []string{
	"zeek/http-pipelining",
	"zeek/ssl-tls12",
	"zeek/conn-pppoe",
	"ja4/quic-tls-handshake",
	"suricata/http-connect-simple",
	"zeek/ssl-dtls",
	"zeek/quic-chromium",
}

func TestGolden(t *testing.T) {
	all := Types{IP: true, HTTP: true, TLS: true}
	for _, c := range goldenCases {
		t.Run(c, func(t *testing.T) {
			var out []byte
			s := New(Config{Types: all}, func(e *event.Event) {
				out = e.AppendJSON(out)
				out = append(out, '\n')
			})
			for _, p := range pcaptest.Captures(t, testenv.SharedPath(t, c)) {
				ps := pcaptest.Packets(t, p)
				for i := range ps {
					s.HandlePacket(&ps[i])
				}
			}
			s.Close()
			golden := filepath.Join("testdata", strings.ReplaceAll(c, "/", "_")+".golden")
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("output differs from %s:\n%s", golden, out)
			}
			// Every line reads back as the same event.
			for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
				var e event.Event
				if err := event.Unmarshal(line, &e); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				if again := e.AppendJSON(nil); !bytes.Equal(again, line) {
					t.Errorf("round trip:\n%s\n%s", line, again)
				}
			}
		})
	}
}

func TestTypes(t *testing.T) {
	dir := testenv.SharedPath(t, "zeek", "http-pipelining")
	for _, tc := range []struct {
		types Types
		want  string
	}{
		{Types{IP: true}, "ip"},
		{Types{HTTP: true}, "http"},
		{Types{TLS: true}, ""},
	} {
		seen := map[string]bool{}
		s := New(Config{Types: tc.types}, func(e *event.Event) { seen[e.Type] = true })
		for _, p := range pcaptest.Captures(t, dir) {
			pcaptest.Run(s, pcaptest.Packets(t, p))
		}
		var got []string
		for k := range seen {
			got = append(got, k)
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("types %+v: got %v", tc.types, got)
		}
	}
}

func TestFromConfig(t *testing.T) {
	c := config.Default().Analysis
	got := FromConfig(c, Types{IP: true})
	if got.Flow.TCPIdle != c.TCPIdle || got.Flow.MaxFlows != 1<<18 || got.Stream.MaxConns != 1<<16 || got.Stream.Idle != c.TCPIdle || !got.Types.IP {
		t.Errorf("%+v", got)
	}
}

// TestEveryCapture runs all analysers over every capture of the shared data
// (broken files included): no panic, every event well formed.
func TestEveryCapture(t *testing.T) {
	var files []string
	root := testenv.Shared(t)
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".pcap.gz")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 100 {
		t.Fatalf("only %d captures under %s", len(files), root)
	}
	counts := map[string]int{}
	for _, f := range files {
		ps, err := readCapture(f)
		if err != nil {
			continue // unreadable files are the decoder's tests
		}
		s := New(Config{Types: Types{IP: true, HTTP: true, TLS: true}}, func(e *event.Event) {
			counts[e.Type]++
			if !e.SrcIP.IsValid() || !e.DestIP.IsValid() || e.Proto == "" {
				t.Errorf("%s: event without endpoints: %+v", f, e)
			}
		})
		for i := range ps {
			s.HandlePacket(&ps[i])
		}
		s.Close()
	}
	t.Logf("%d captures: %v", len(files), counts)
}

func readCapture(path string) ([]decode.Packet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		r = zr
	}
	return pcaptest.Read(r)
}
