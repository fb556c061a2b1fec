package handshake

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/pcaptest"
	"github.com/nfr-project/nfr/internal/testenv"
)

// ja4Ref is one client flow of FoxIO's references: its first JA4.
type ja4Ref struct {
	client string // src:port
	ja4    string
	udp    bool
}

// pythonRefs reads ja4.py's JSON output: JA4.1 per stream.
func pythonRefs(t *testing.T, path string) []ja4Ref {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	if err := json.Unmarshal(b, &recs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []ja4Ref
	for _, r := range recs {
		j, _ := r["JA4.1"].(string)
		if j == "" {
			continue
		}
		src, _ := r["src"].(string)
		port, _ := r["srcport"].(string)
		out = append(out, ja4Ref{client: src + ":" + port, ja4: j, udp: j[0] == 'q'})
	}
	return out
}

// rustRefs reads the insta snapshot of FoxIO's rust crate: the ja4 of each
// stream (the first, when a stream has several).
func rustRefs(t *testing.T, path string) []ja4Ref {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []ja4Ref
	var cur ja4Ref
	var src, port string
	flush := func() {
		if cur.ja4 != "" {
			cur.client = src + ":" + port
			out = append(out, cur)
		}
		cur, src, port = ja4Ref{}, "", ""
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "- stream:") {
			flush()
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok || strings.HasPrefix(line, "    ") {
			continue // nested lists (ja4x, ja4h)
		}
		switch strings.TrimPrefix(k, "- ") {
		case "transport":
			cur.udp = v == "udp"
		case "src":
			src = v
		case "src_port":
			port = v
		case "ja4":
			if cur.ja4 == "" {
				cur.ja4 = v
			}
		}
	}
	flush()
	return out
}

// ja4Known lists JA4 reference cases we do not match in full, and why.
var ja4Known = map[string]string{
	"tls-non-ascii-alpn": "the first ALPN value is 0xBA 0xAD: the specification says to print the first and last characters of its hex form (\"bd\"); " +
		"both FoxIO implementations read the ALPN through tshark's text field, where the bytes become U+FFFD, and print \"99\"; we follow the specification",
}

func TestJA4AgainstFoxIO(t *testing.T) {
	dirs, _ := filepath.Glob(testenv.SharedPath(t, "ja4", "*"))
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			var caps []string
			for _, c := range pcaptest.Captures(t, dir) {
				caps = append(caps, c)
			}
			evs, _ := runCase(t, caps...)
			got := map[string]string{}
			for _, e := range evs {
				got[netip.AddrPortFrom(e.SrcIP, e.SrcPort).String()] = e.JA4
			}
			var refs []ja4Ref
			for _, c := range caps {
				for _, p := range []string{c + ".python-expected.json"} {
					if _, err := os.Stat(p); err == nil {
						refs = append(refs, pythonRefs(t, p)...)
					}
				}
				if _, err := os.Stat(c + ".rust-insta.snap"); err == nil {
					refs = append(refs, rustRefs(t, c+".rust-insta.snap")...)
				}
			}
			var diffs []string
			matched, total := 0, 0
			for _, r := range refs {
				if r.udp {
					continue // QUIC: see pkg/quic
				}
				total++
				client := r.client
				if strings.Count(client, ":") > 1 {
					i := strings.LastIndex(client, ":")
					client = "[" + client[:i] + "]" + client[i:]
				}
				if g := got[client]; g != r.ja4 {
					diffs = append(diffs, client+": got "+g+", want "+r.ja4)
					continue
				}
				matched++
			}
			sort.Strings(diffs)
			pcaptest.Report(t, ja4Known[name], matched, total, diffs)
		})
	}
}
