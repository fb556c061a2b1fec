package quic

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/pcaptest"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
)

func run(t *testing.T, pcaps ...string) ([]*event.Event, Stats) {
	var out []*event.Event
	a := New(Config{}, func(e *event.Event) { out = append(out, e) })
	for _, p := range pcaps {
		pcaptest.Run(a, pcaptest.Packets(t, p))
	}
	return out, a.Stats()
}

// TestRFC9001Keys checks key derivation and decryption with the client
// Initial of RFC 9001 appendix A.2.
func TestRFC9001Keys(t *testing.T) {
	dcid, _ := hex.DecodeString("8394c8f03e515708")
	k, err := ClientKeys(V1, dcid)
	if err != nil {
		t.Fatal(err)
	}
	wantIV := "fa044b2f42a3fd3b46fb255c"
	if got := hex.EncodeToString(k.iv[:]); got != wantIV {
		t.Errorf("iv %s, want %s", got, wantIV)
	}
	// The protected packet of A.2, first bytes and sample position are enough
	// to check header protection: the sample gives mask 437b9aec36.
	sample, _ := hex.DecodeString("d1b1c98dd7689fb8ec11d242b123dc9b")
	var mask [16]byte
	k.hp.Encrypt(mask[:], sample)
	if got := hex.EncodeToString(mask[:5]); got != "437b9aec36" {
		t.Errorf("mask %s", got)
	}
	// RFC 9369 appendix A.1: the v2 client iv.
	k2, err := ClientKeys(V2, dcid)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(k2.iv[:]); got != "91f73e2351d8fa91660e909f" {
		t.Errorf("v2 iv %s", got)
	}
}

// quicRefs reads FoxIO's references: the JA4 of each QUIC client.
func quicRefs(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	for _, p := range must(filepath.Glob(filepath.Join(dir, "*.python-expected.json"))) {
		var recs []map[string]any
		b, _ := os.ReadFile(p)
		if err := json.Unmarshal(b, &recs); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if j, _ := r["JA4.1"].(string); strings.HasPrefix(j, "q") {
				out[addrPort(r["src"].(string), r["srcport"].(string))] = j
			}
		}
	}
	for _, p := range must(filepath.Glob(filepath.Join(dir, "*.rust-insta.snap"))) {
		f, _ := os.Open(p)
		sc := bufio.NewScanner(f)
		var src, port string
		for sc.Scan() {
			k, v, _ := strings.Cut(strings.TrimSpace(sc.Text()), ": ")
			switch strings.TrimPrefix(k, "- ") {
			case "stream":
				src, port = "", ""
			case "src":
				src = v
			case "src_port":
				port = v
			case "ja4":
				if strings.HasPrefix(v, "q") {
					out[addrPort(src, port)] = v
				}
			}
		}
		f.Close()
	}
	return out
}

func must[T any](v T, _ error) T { return v }

func addrPort(a, p string) string {
	return netip.AddrPortFrom(netip.MustParseAddr(a), uint16(atoi(p))).String()
}

func TestJA4AgainstFoxIO(t *testing.T) {
	for _, c := range []string{"quic-tls-handshake", "chrome-cloudflare-quic-with-secrets"} {
		t.Run(c, func(t *testing.T) {
			dir := testenv.SharedPath(t, "ja4", c)
			want := quicRefs(t, dir)
			evs, stats := run(t, pcaptest.Captures(t, dir)...)
			t.Logf("%+v", stats)
			got := map[string]string{}
			for _, e := range evs {
				got[netip.AddrPortFrom(e.SrcIP, e.SrcPort).String()] = e.JA4
			}
			var diffs []string
			matched := 0
			for client, j := range want {
				if got[client] != j {
					diffs = append(diffs, client+": got "+got[client]+", want "+j)
					continue
				}
				matched++
			}
			if len(want) == 0 {
				t.Fatal("no QUIC references")
			}
			pcaptest.Report(t, "", matched, len(want), diffs)
		})
	}
}

func TestZeekSSLLog(t *testing.T) {
	for _, c := range []string{"quic-chromium", "quic-curl-http3"} {
		t.Run(c, func(t *testing.T) {
			dir := testenv.SharedPath(t, "zeek", c)
			recs := pcaptest.ZeekLog(t, filepath.Join(dir, "ssl.log"))
			evs, _ := run(t, pcaptest.Captures(t, dir)...)
			var diffs []string
			matched := 0
			for _, r := range recs {
				var e *event.Event
				for _, x := range evs {
					if x.SrcIP.String() == r["id.orig_h"] && x.SrcPort == uint16(atoi(r["id.orig_p"])) {
						e = x
					}
				}
				switch {
				case e == nil:
					diffs = append(diffs, "missing "+r["id.orig_h"]+" "+r["id.orig_p"])
				case e.SNI != r["server_name"] || e.TLSVersion != r["version"] || e.Proto != "udp":
					diffs = append(diffs, "got "+e.SNI+" "+e.TLSVersion+", want "+r["server_name"]+" "+r["version"])
				case e.JA3S == "":
					// Zeek logs the cipher the ServerHello chose: we must have read it.
					diffs = append(diffs, "no ServerHello read; Zeek saw cipher "+r["cipher"])
				default:
					matched++
				}
			}
			pcaptest.Report(t, "", matched, len(recs), diffs)
		})
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestSuricataQUIC(t *testing.T) {
	dir := testenv.SharedPath(t, "suricata", "quic-ja4")
	checks := pcaptest.SuricataChecks(t, dir, "quic")
	evs, _ := run(t, pcaptest.Captures(t, dir)...)
	var eves []map[string]any
	for _, e := range evs {
		eves = append(eves, map[string]any{"event_type": "quic", "quic.ja4": e.JA4, "quic.sni": e.SNI})
	}
	diffs, notes, matched := pcaptest.CheckSuricata(checks, eves)
	for _, n := range notes {
		t.Log(n)
	}
	pcaptest.Report(t, "", matched, len(checks), diffs)
}

func TestNotQUIC(t *testing.T) {
	a := New(Config{}, func(e *event.Event) { t.Errorf("event from noise: %+v", e) })
	payload := make([]byte, 1300)
	payload[0] = 0xc3
	copy(payload[1:], []byte{0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x44, 0xd0})
	p := decode.Packet{Proto: decode.ProtoUDP, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
		SrcPort: 5000, DstPort: 443, Payload: payload, PayloadLen: len(payload)}
	a.HandlePacket(&p)
	a.Close()
	if a.Stats().Undecrypt != 1 {
		t.Errorf("stats %+v", a.Stats())
	}
}
